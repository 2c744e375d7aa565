// A real named (BIND 9.18) on 127.0.0.1 for unit tests that need a DNS
// server, as RAII: the constructor writes a named.conf with native primary
// zones into a fresh temporary directory, picks a free port, starts
// `named -g -c CONF -n 1 -4` as a child and waits until it answers an SOA
// query for the first zone (at most 15 s); the destructor stops it (SIGTERM,
// then SIGKILL after 5 s), reaps it and removes the directory.
//
// Each zone file gets `$ORIGIN`, `$TTL 60` and an SOA record from the
// fixture; the caller writes the rest, including NS records and their
// addresses (named refuses a zone whose in-zone NS has none). `options` go
// inside the zone statement ("allow-update { key acme-key; };"); `extra_conf`
// goes at the top level of named.conf (key statements from generate_key()).
//
// The port is found by binding port 0 on TCP and the same port on UDP, then
// releasing both; should another process take it before named does, named
// does not answer and the start is retried with a new port (3 attempts).
//
// POSIX and the standard library only, so any unit test can include it.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace acmezone::testing {

class NamedFixture {
  public:
    struct Zone {
        std::string name;     // "example.test"
        std::string records;  // zone-file lines after the SOA
        std::string options;  // inside zone { }, e.g. "allow-update { key acme-key; };"
    };

    explicit NamedFixture(const std::vector<Zone>& zones, const std::string& extra_conf = "") {
        if (zones.empty()) {
            throw std::invalid_argument("NamedFixture: give at least one zone");
        }
        char templ[] = "/tmp/acmezone-named-XXXXXX";
        if (::mkdtemp(templ) == nullptr) {
            throw std::runtime_error("NamedFixture: mkdtemp failed");
        }
        dir_ = templ;
        for (const Zone& z : zones) {
            std::ofstream f(dir_ / (z.name + ".zone"));
            f << "$ORIGIN " << z.name << ".\n$TTL 60\n"
              << "@ IN SOA ns1." << z.name << ". hostmaster." << z.name << ". 1 3600 600 86400 60\n"
              << z.records << "\n";
        }
        std::string last_error;
        for (int attempt = 0; attempt < 3; ++attempt) {
            port_ = free_port();
            write_conf(zones, extra_conf);
            start();
            if (wait_until_answering(zones.front().name, &last_error)) {
                return;
            }
            stop();
        }
        std::string log = this->log();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw std::runtime_error("NamedFixture: named did not start: " + last_error +
                                 "\n--- named log ---\n" + log);
    }

    ~NamedFixture() {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    NamedFixture(const NamedFixture&) = delete;
    NamedFixture& operator=(const NamedFixture&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    const std::filesystem::path& dir() const { return dir_; }
    std::string log() const {
        std::ifstream f(dir_ / "named.log");
        std::stringstream s;
        s << f.rdbuf();
        return s.str();
    }

    // `tsig-keygen -a ALG NAME`: a BIND key{} statement with a fresh secret.
    static std::string generate_key(const std::string& name,
                                    const std::string& algorithm = "hmac-sha256") {
        std::string cmd = "tsig-keygen -a " + algorithm + " " + name + " 2>&1";
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
        if (!pipe) {
            throw std::runtime_error("NamedFixture: cannot run " + cmd);
        }
        std::string out;
        char buf[256];
        while (std::fgets(buf, sizeof buf, pipe.get()) != nullptr) {
            out += buf;
        }
        int status = ::pclose(pipe.release());
        if (status != 0 || out.find("secret") == std::string::npos) {
            throw std::runtime_error("NamedFixture: " + cmd + " failed: " + out);
        }
        return out;
    }

    // Writes `text` to a file in the fixture's directory, mode 0600.
    std::string write_private_file(const std::string& name, const std::string& text) const {
        std::filesystem::path path = dir_ / name;
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
            if (fd >= 0) {
                ::close(fd);
            }
            throw std::runtime_error("NamedFixture: cannot write " + path.string());
        }
        ::close(fd);
        return path.string();
    }

  private:
    static std::uint16_t free_port() {
        for (int attempt = 0; attempt < 20; ++attempt) {
            int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t len = sizeof sin;
            if (tcp < 0 || ::bind(tcp, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
                ::getsockname(tcp, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
                if (tcp >= 0) {
                    ::close(tcp);
                }
                continue;
            }
            int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            bool ok = udp >= 0 && ::bind(udp, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0;
            std::uint16_t port = ntohs(sin.sin_port);
            ::close(tcp);
            if (udp >= 0) {
                ::close(udp);
            }
            if (ok) {
                return port;
            }
        }
        throw std::runtime_error("NamedFixture: found no free port on 127.0.0.1");
    }

    void write_conf(const std::vector<Zone>& zones, const std::string& extra_conf) {
        std::ofstream f(dir_ / "named.conf");
        f << "options {\n"
          << "  directory \"" << dir_.string() << "\";\n"
          << "  pid-file \"" << (dir_ / "named.pid").string() << "\";\n"
          << "  session-keyfile \"" << (dir_ / "session.key").string() << "\";\n"
          << "  listen-on port " << port_ << " { 127.0.0.1; };\n"
          << "  listen-on-v6 { none; };\n"
          << "  recursion no;\n"
          << "  dnssec-validation no;\n"
          << "  notify no;\n"
          << "  allow-query { any; };\n"
          << "};\n"
          << "controls { };\n"
          << extra_conf << "\n";
        for (const Zone& z : zones) {
            f << "zone \"" << z.name << "\" { type primary; file \""
              << (dir_ / (z.name + ".zone")).string() << "\"; " << z.options << " };\n";
        }
    }

    void start() {
        std::string conf = (dir_ / "named.conf").string();
        std::string logfile = (dir_ / "named.log").string();
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, logfile.c_str(),
                                         O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::vector<std::string> args = {"named", "-g", "-c", conf, "-n", "1", "-4"};
        std::vector<char*> argv;
        for (std::string& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        int rc = ::posix_spawnp(&pid_, "named", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) {
            pid_ = -1;
            throw std::runtime_error("NamedFixture: cannot start named (is bind9 installed?)");
        }
    }

    void stop() {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {  // up to 5 s
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    // Polls with an SOA query for `zone` until named answers NOERROR (15 s at most).
    bool wait_until_answering(const std::string& zone, std::string* error) {
        std::vector<std::uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
        std::size_t start = 0;
        std::string name = zone + ".";
        for (std::size_t i = 0; i < name.size(); ++i) {
            if (name[i] == '.') {
                q.push_back(static_cast<std::uint8_t>(i - start));
                q.insert(q.end(), name.begin() + static_cast<long>(start),
                         name.begin() + static_cast<long>(i));
                start = i + 1;
            }
        }
        q.insert(q.end(), {0, 0, 6, 0, 1});  // root, type SOA, class IN
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        *error = "no answer to SOA " + zone + " at " + address() + " within 15 s";
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                *error = "named exited (status " + std::to_string(status) + ")";
                return false;
            }
            int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(port_);
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            bool answered = false;
            if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0 &&
                ::send(fd, q.data(), q.size(), 0) == static_cast<ssize_t>(q.size())) {
                pollfd pfd{fd, POLLIN, 0};
                std::uint8_t buf[512];
                if (::poll(&pfd, 1, 200) == 1) {
                    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
                    // Our ID, QR set, rcode NOERROR.
                    answered = n >= 12 && buf[0] == 0x12 && buf[1] == 0x34 &&
                               (buf[2] & 0x80) != 0 && (buf[3] & 0x0f) == 0;
                }
            }
            if (fd >= 0) {
                ::close(fd);
            }
            if (answered) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace acmezone::testing
