// See gdnsd_publisher.h.
//
// run_command(): posix_spawnp with a pipe for the child's stdout and stderr
// and /dev/null as its stdin; the parent polls the pipe until EOF or the
// deadline, then kills (SIGKILL) a child still running and reaps it, so no
// path leaves a zombie or a stray process. The pipe's read end is
// close-on-exec in the parent, so concurrent spawns from other threads do not
// inherit it (which would delay their EOF).
#include "issuer/dns/gdnsd_publisher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "common/log.h"
#include "common/unique_fd.h"
#include "issuer/dns/dns_exchange.h"

extern char** environ;

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxOutput = 4096;

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    for (char& c : s) {
        if (c == '\n') {
            c = ' ';
        } else if (static_cast<unsigned char>(c) < 0x20) {
            c = '?';
        }
    }
    return s;
}

}  // namespace

std::optional<std::vector<std::string>> split_command(std::string_view text, std::string* error) {
    std::vector<std::string> words;
    std::string word;
    for (char c : text) {
        if (c == '"' || c == '\'' || c == '\\') {
            if (error != nullptr) {
                *error = std::string("quoting (") + c +
                         ") is not supported: the command runs without a shell, split at spaces";
            }
            return std::nullopt;
        }
        if (c == ' ' || c == '\t') {
            if (!word.empty()) {
                words.push_back(std::move(word));
                word.clear();
            }
        } else {
            word += c;
        }
    }
    if (!word.empty()) {
        words.push_back(std::move(word));
    }
    if (words.empty()) {
        if (error != nullptr) {
            *error = "no command given";
        }
        return std::nullopt;
    }
    return words;
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout) {
    if (argv.empty()) {
        throw std::invalid_argument("run_command: empty argv");
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::system_error(errno, std::generic_category(), "pipe");
    }
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    std::vector<char*> args;
    for (const std::string& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
        throw std::system_error(rc, std::generic_category(), "cannot run " + argv[0]);
    }
    write_end.reset();

    CommandResult result;
    const Clock::time_point deadline = Clock::now() + timeout;
    char buf[1024];
    // Each pass reads once or waits until the deadline: bounded by it.
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        if (left <= milliseconds::zero()) {
            result.timed_out = true;
            break;
        }
        pollfd p{read_end.get(), POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n == 0) {
            result.timed_out = true;
            break;
        }
        ssize_t got = ::read(read_end.get(), buf, sizeof buf);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;  // EOF: the child closed its end (normally by exiting)
        }
        std::size_t room = kMaxOutput - std::min(kMaxOutput, result.output.size());
        result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
    }
    if (result.timed_out) {
        ::kill(pid, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

GdnsdctlPublisher::GdnsdctlPublisher(std::vector<std::string> argv, milliseconds timeout)
    : argv_(std::move(argv)), timeout_(timeout) {
    if (argv_.empty()) {
        throw std::invalid_argument("gdnsdctl publisher: empty command");
    }
}

std::string GdnsdctlPublisher::name() const {
    std::string out = argv_[0].substr(argv_[0].rfind('/') + 1);
    for (std::size_t i = 1; i < argv_.size(); ++i) {
        out += " " + argv_[i];
    }
    return out;
}

void GdnsdctlPublisher::publish(const DnsName& owner,
                                const std::vector<std::string>& values) const {
    const std::vector<std::string_view> labels = owner.labels();
    if (labels.empty() || labels.front() != "_acme-challenge") {
        throw DnsError(name() + ": cannot publish at " + owner.text() +
                       ": gdnsd serves challenge values only at _acme-challenge names (point "
                       "the CNAME at a name that starts with _acme-challenge.)");
    }
    for (std::size_t first = 0; first < values.size(); first += kMaxPairsPerRun) {
        std::vector<std::string> argv = argv_;
        argv.push_back("--");
        argv.push_back("acme-dns-01");
        const std::size_t end = std::min(values.size(), first + kMaxPairsPerRun);
        for (std::size_t i = first; i < end; ++i) {
            argv.push_back(owner.text());
            argv.push_back(values[i]);
        }
        CommandResult r;
        try {
            r = run_command(argv, timeout_);
        } catch (const std::exception& e) {
            throw DnsError(name() + ": " + e.what());
        }
        std::string how;
        if (r.timed_out) {
            how = "did not finish within " + describe_duration(timeout_) + " (killed)";
        } else if (r.signal != 0) {
            how = "was killed by signal " + std::to_string(r.signal);
        } else if (r.exit_status != 0) {
            how = "exited with status " + std::to_string(r.exit_status);
        }
        if (!how.empty()) {
            std::string out = trimmed(r.output);
            throw DnsError(name() + ": " + how + " (adding " + std::to_string(end - first) +
                           " value(s) at " + owner.text() + ")" +
                           (out.empty() ? std::string() : ": " + out));
        }
    }
    log_debug(name(), ": added ", values.size(), " value(s) at ", owner.text());
}

void GdnsdctlPublisher::unpublish(const DnsName& owner,
                                  const std::vector<std::string>& values) const {
    log_debug(name(), ": ", values.size(), " value(s) at ", owner.text(),
              " stay until gdnsd's acme_challenge_ttl ends (gdnsd cannot remove single values)");
}

}  // namespace acmezone::issuer
