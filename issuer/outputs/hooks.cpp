// See hooks.h.
#include "issuer/outputs/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json/value.h>
#include <json/writer.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <map>

#include "common/name_path.h"
#include "common/unique_fd.h"
#include "common/utc_time.h"

extern char** environ;

namespace acmezone::issuer {
namespace {

using std::chrono::system_clock;

constexpr std::size_t kMaxOutput = 64 * 1024;

}  // namespace

std::string HookResult::describe() const {
    if (timed_out) {
        return "timed out (killed)";
    }
    if (signal != 0) {
        return "killed by signal " + std::to_string(signal);
    }
    if (exit_code >= 0) {
        return "exited " + std::to_string(exit_code);
    }
    return output.empty() ? "could not start" : "could not start: " + output;
}

HookResult run_hook(const std::string& command, const HookEnv& env, const std::string& stdin_data,
                    std::chrono::milliseconds timeout) {
    HookResult result;
    // The environment: ours, with `env` overriding.
    std::map<std::string, std::string> vars;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            vars[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    for (const auto& [k, v] : env) {
        vars[k] = v;
    }
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : vars) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (std::string& s : env_strings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
    std::vector<char*> argv{sh.data(), dash_c.data(), cmd.data(), nullptr};

    // stdin is a socket pair, not a pipe: send(MSG_NOSIGNAL) to a hook that
    // exited without reading gets EPIPE, not a SIGPIPE for the whole issuer.
    int in_pipe[2];
    int out_pipe[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pipe) != 0) {
        result.output = std::strerror(errno);
        return result;
    }
    UniqueFd in_read(in_pipe[0]), in_write(in_pipe[1]);
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        result.output = std::strerror(errno);
        return result;
    }
    UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout kills all of it
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, sh.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        result.output = std::strerror(rc);
        return result;
    }
    in_read.reset();
    out_write.reset();
    ::shutdown(in_write.get(), SHUT_RD);

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t written = 0;
    if (stdin_data.empty()) {
        in_write.reset();
    }
    bool killed = false;
    // Until the output pipe closes (every process of the group that holds it
    // exited) or the deadline passes.
    while (out_read.get() >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            ::kill(-pid, SIGKILL);
            killed = true;
            break;
        }
        pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
        const nfds_t n = in_write.get() >= 0 ? 2 : 1;
        int pr = ::poll(fds, n, static_cast<int>(std::min<long>(left.count(), 1000)));
        if (pr < 0 && errno != EINTR) {
            ::kill(-pid, SIGKILL);
            killed = true;
            break;
        }
        if (pr <= 0) {
            continue;
        }
        if (n == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = ::send(in_write.get(), stdin_data.data() + written,
                               stdin_data.size() - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                written += static_cast<std::size_t>(w);
            }
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_data.size()) {
                in_write.reset();  // done, or the hook does not read stdin (EPIPE)
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[4096];
            ssize_t r = ::read(out_read.get(), buf, sizeof buf);
            if (r > 0) {
                const std::size_t room = kMaxOutput - std::min(kMaxOutput, result.output.size());
                result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(r)));
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                out_read.reset();
            }
        }
    }
    in_write.reset();
    int status = 0;
    if (!killed) {
        // The output closed: the shell has exited or is about to; a child that
        // closed its output but runs on is bounded by the deadline too.
        for (;;) {
            pid_t w = ::waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                ::kill(-pid, SIGKILL);
                killed = true;
                break;
            }
            ::usleep(10000);
        }
    }
    if (killed) {
        ::waitpid(pid, &status, 0);
        result.timed_out = true;
        return result;
    }
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
        result.ok = result.exit_code == 0;
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

std::string key_type_env_suffix(KeyType type) {
    std::string out(to_string(type));
    for (char& c : out) {
        c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

HookEnv deploy_hook_env(const DnsName& zone, const std::filesystem::path& zone_dir,
                        const std::vector<KeyType>& key_types) {
    HookEnv env;
    env.emplace_back("ACMEZONE_ZONE", zone.text());
    env.emplace_back("ACMEZONE_ZONE_FILE", path_component(zone));
    env.emplace_back("ACMEZONE_DIR", zone_dir.string());
    std::string types;
    for (KeyType t : key_types) {
        types += (types.empty() ? "" : " ") + std::string(to_string(t));
    }
    env.emplace_back("ACMEZONE_KEY_TYPES", types);
    if (!key_types.empty()) {
        env.emplace_back("ACMEZONE_KEY_TYPE", std::string(to_string(key_types.front())));
        env.emplace_back("ACMEZONE_KEY", (zone_dir / "privkey.pem").string());
        env.emplace_back("ACMEZONE_CERT", (zone_dir / "cert.pem").string());
        env.emplace_back("ACMEZONE_CHAIN", (zone_dir / "chain.pem").string());
        env.emplace_back("ACMEZONE_FULLCHAIN", (zone_dir / "fullchain.pem").string());
    }
    for (KeyType t : key_types) {
        const std::string sfx = key_type_env_suffix(t);
        const std::filesystem::path d = zone_dir / std::string(to_string(t));
        env.emplace_back("ACMEZONE_KEY_" + sfx, (d / "privkey.pem").string());
        env.emplace_back("ACMEZONE_CERT_" + sfx, (d / "cert.pem").string());
        env.emplace_back("ACMEZONE_CHAIN_" + sfx, (d / "chain.pem").string());
        env.emplace_back("ACMEZONE_FULLCHAIN_" + sfx, (d / "fullchain.pem").string());
    }
    return env;
}

std::string NotifyEvent::to_json() const {
    Json::Value doc(Json::objectValue);
    doc["event"] = event;
    doc["zone"] = zone.text();
    doc["error"] = error;
    if (not_after) {
        doc["not_after"] = format_utc(*not_after);
        doc["days_left"] =
            std::floor(std::chrono::duration<double>(*not_after - time).count() / 86400.0 * 10) /
            10;
    } else {
        doc["not_after"] = Json::Value::null;
        doc["days_left"] = Json::Value::null;
    }
    doc["time"] = format_utc(time);
    Json::StreamWriterBuilder w;
    w["indentation"] = "";
    w["precision"] = 15;  // days_left 9.9, not 9.9000000000000004
    return Json::writeString(w, doc);
}

std::vector<NotifyEvent> decide_notifications(NotifyState& state, const DnsName& zone,
                                              const NotifyOutcome& outcome,
                                              system_clock::time_point now,
                                              unsigned expiring_days) {
    std::vector<NotifyEvent> events;
    auto event = [&](std::string name, std::string error) {
        events.push_back(
            NotifyEvent{std::move(name), zone, std::move(error), outcome.not_after, now});
    };
    if (outcome.attempted && !outcome.ok && !state.failing) {
        state.failing = true;
        event("failed", outcome.error);
    } else if (outcome.attempted && outcome.ok && state.failing) {
        state.failing = false;
        event("recovered", "");
    }
    if (outcome.attempted && outcome.ok) {
        state.expiring_sent.reset();  // a new certificate: a new expiry to warn of
    }
    if (expiring_days > 0 && outcome.not_after &&
        *outcome.not_after - now <= std::chrono::hours(24) * expiring_days &&
        !(outcome.attempted && outcome.ok) &&
        (!state.expiring_sent || now - *state.expiring_sent >= std::chrono::hours(24))) {
        state.expiring_sent = now;
        event("expiring", outcome.error);
    }
    return events;
}

}  // namespace acmezone::issuer
