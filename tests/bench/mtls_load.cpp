// mtls_load — the load generator of bench case 6 (tests/bench/case6_serve.sh):
// HTTPS GETs with a client certificate (mutual TLS), the same tool for
// `acmezone-issuer serve` and for nginx. Debian's load tools cannot present a
// client certificate (h2load, wrk, hey, siege, ab), and curl cannot keep 64
// connections busy from one process cheaply: so this one, Boost.Beast over
// Asio's OpenSSL stream, one thread, every client a chain of callbacks.
//
//   mtls_load --port P --ca CA.pem --cert C.pem --key C.key --paths FILE
//             --mode conditional|full [--clients 64] [--seconds 5]
//             [--max-requests N] [--server-pids PID,PID...]
//
// FILE has one request target a line (/v1/zones/z1.bench.test); client i asks
// for targets i, i + clients, i + 2 clients ... in turn.
//   conditional  first one connection fetches every target once (200, its
//                ETag noted; untimed), then each client opens one keep-alive
//                connection and, once all are up, asks again and again with
//                If-None-Match: that ETag. Counted: 304 answers.
//   full         every request on a new TCP connection with a full TLS
//                handshake (no session resumption), no condition,
//                `Connection: close`. Counted: 200 answers with a body.
// Anything else (another status, a failed connect, handshake or read) is an
// error; the first few are printed. The run ends at --seconds or after
// --max-requests counted answers, whichever comes first: requests in flight
// then are not counted. Output, one line on stdout:
//   requests=N seconds=T rate=R errors=E cpu_s=C server_cpu_s=S bytes=B
//   tls=VERSION/CIPHER
// (cpu_s: this process's user + system CPU during the timed part; server_cpu_s:
// that of the processes --server-pids names (comma-separated: nginx's master
// and workers, or serve), read from /proc at the start and the end of the
// timed part, "-" without the option; bytes: the body octets of the counted
// answers). Exit 0 when the run had no error.
// Loopback only: --host defaults to 127.0.0.1 and must be a loopback address.
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyLimit = 1 << 20;              // a zone's answer is a few KiB
constexpr int kErrorsShown = 5;                          // first errors printed to stderr
constexpr auto kStepTimeout = std::chrono::seconds(30);  // one connect, handshake or exchange

struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::string ca, cert, key, paths_file, mode;
    unsigned clients = 64;
    double seconds = 5;
    unsigned long max_requests = 0;  // 0: bounded by --seconds only
    std::vector<long> server_pids;
};

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "mtls_load: " << why
              << "\nusage: mtls_load --port P --ca CA --cert C --key K --paths FILE "
                 "--mode conditional|full [--clients N] [--seconds S] [--max-requests N] "
                 "[--host 127.0.0.1]\n";
    std::exit(2);
}

std::vector<long> pid_list(const std::string& text) {
    std::vector<long> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const std::size_t comma = std::min(text.find(',', at), text.size());
        out.push_back(std::stol(text.substr(at, comma - at)));
        at = comma + 1;
    }
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            usage(a + " needs a value");
        }
        const std::string v = argv[++i];
        const std::map<std::string, std::function<void()>> setters{
            {"--host", [&] { o.host = v; }},
            {"--port", [&] { o.port = static_cast<unsigned short>(std::stoul(v)); }},
            {"--ca", [&] { o.ca = v; }},
            {"--cert", [&] { o.cert = v; }},
            {"--key", [&] { o.key = v; }},
            {"--paths", [&] { o.paths_file = v; }},
            {"--mode", [&] { o.mode = v; }},
            {"--clients", [&] { o.clients = static_cast<unsigned>(std::stoul(v)); }},
            {"--seconds", [&] { o.seconds = std::stod(v); }},
            {"--max-requests", [&] { o.max_requests = std::stoul(v); }},
            {"--server-pids", [&] { o.server_pids = pid_list(v); }},
        };
        const auto setter = setters.find(a);
        if (setter == setters.end()) {
            usage("unknown option " + a);
        }
        try {
            setter->second();
        } catch (const std::logic_error&) {
            usage(a + ": not a number: " + v);
        }
    }
    if (o.port == 0 || o.ca.empty() || o.cert.empty() || o.key.empty() || o.paths_file.empty()) {
        usage("--port, --ca, --cert, --key and --paths are required");
    }
    if (o.mode != "conditional" && o.mode != "full") {
        usage("--mode is conditional or full");
    }
    if (o.clients == 0 || o.clients > 4096 || o.seconds <= 0 || o.seconds > 600) {
        usage("--clients 1..4096, --seconds (0, 600]");
    }
    return o;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// utime + stime of every process in pids, in seconds (/proc/PID/stat); -1 when
// one cannot be read (it exited).
double processes_cpu_seconds(const std::vector<long>& pids) {
    static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double total = 0;
    for (long pid : pids) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const std::size_t paren = stat.rfind(')');
        if (paren == std::string::npos) {
            return -1;
        }
        // after "pid (comm)": state is field 3, utime field 14, stime field 15
        std::istringstream fields(stat.substr(paren + 2));
        std::string f;
        unsigned long long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && fields >> f; ++i) {
            if (i == 14)
                utime = std::stoull(f);
            if (i == 15)
                stime = std::stoull(f);
        }
        total += static_cast<double>(utime + stime) / ticks;
    }
    return total;
}

// What every client shares: the run's counters and its end.
struct Run {
    Options opt;
    std::vector<std::string> paths;
    std::map<std::string, std::string> etags;  // conditional: target -> ETag
    tcp::endpoint endpoint;
    ssl::context tls{ssl::context::tls_client};
    bool timed = false;  // counting (all connections up, clock started)
    bool over = false;
    unsigned ready = 0;  // conditional: connections up and waiting for the start
    unsigned long counted = 0;
    unsigned long errors = 0;
    unsigned long long bytes = 0;
    Clock::time_point start, end;
    double cpu_start = 0, cpu_end = 0;
    double server_cpu_start = 0, server_cpu_end = 0;
    std::string tls_used;
    std::optional<asio::steady_timer> deadline;
    std::vector<std::function<void()>> waiting;  // conditional: clients waiting for the start

    void error(const std::string& what) {
        if (over) {
            return;
        }
        ++errors;
        if (errors <= kErrorsShown) {
            std::cerr << "mtls_load: " << what << "\n";
        }
    }
    void finish() {
        if (over) {
            return;
        }
        over = true;
        end = Clock::now();
        cpu_end = cpu_seconds();
        server_cpu_end = processes_cpu_seconds(opt.server_pids);
        if (deadline) {
            deadline->cancel();
        }
    }
    void count(std::size_t body) {
        if (!timed || over) {
            return;
        }
        ++counted;
        bytes += body;
        if (opt.max_requests != 0 && counted >= opt.max_requests) {
            finish();
        }
    }
};

// One client: a chain of connect, handshake, request, response.
class Client : public std::enable_shared_from_this<Client> {
  public:
    Client(asio::io_context& ioc, Run& run, unsigned index) : ioc_(ioc), run_(run), next_(index) {}

    void start() { connect(); }

  private:
    bool conditional() const { return run_.opt.mode == "conditional"; }

    // A completion handler: after an error, fail(step); else on to `next`.
    auto then(const char* step, void (Client::*next)()) {
        return [self = shared_from_this(), step, next](const beast::error_code& ec,
                                                       const auto&... /*bytes*/) {
            if (ec) {
                self->fail(step, ec);
                return;
            }
            ((*self).*next)();
        };
    }

    void connect() {
        if (run_.over) {
            return;
        }
        stream_.emplace(ioc_, run_.tls);
        SSL_set_tlsext_host_name(stream_->native_handle(), run_.opt.host.c_str());
        stream_->set_verify_callback(ssl::host_name_verification(run_.opt.host));
        beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
        beast::get_lowest_layer(*stream_).async_connect(run_.endpoint,
                                                        then("connect", &Client::handshake));
    }

    void handshake() {
        beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
        stream_->async_handshake(ssl::stream_base::client,
                                 then("TLS handshake", &Client::connected));
    }

    void connected() {
        if (run_.tls_used.empty()) {
            SSL* s = stream_->native_handle();
            run_.tls_used = std::string(SSL_get_version(s)) + "/" + SSL_get_cipher_name(s);
        }
        if (conditional() && !run_.timed) {
            // wait until every client is connected, then all start together
            run_.waiting.push_back([self = shared_from_this()] { self->request(); });
            if (++run_.ready == run_.opt.clients) {
                start_clock(run_);
            }
            return;
        }
        request();
    }

  public:
    static void start_clock(Run& run) {
        run.timed = true;
        run.start = Clock::now();
        run.cpu_start = cpu_seconds();
        run.server_cpu_start = processes_cpu_seconds(run.opt.server_pids);
        run.deadline->expires_after(std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(run.opt.seconds)));
        run.deadline->async_wait([&run](const beast::error_code& ec) {
            if (!ec) {
                run.finish();
            }
        });
        auto waiting = std::move(run.waiting);
        for (auto& go : waiting) {
            go();
        }
    }

  private:
    void request() {
        if (run_.over) {
            close();
            return;
        }
        const std::string& target = run_.paths[next_ % run_.paths.size()];
        next_ += run_.opt.clients;
        req_ = {};
        req_.method(http::verb::get);
        req_.target(target);
        req_.version(11);
        req_.set(http::field::host, run_.opt.host);
        if (conditional()) {
            req_.set(http::field::if_none_match, run_.etags[target]);
        }
        req_.keep_alive(conditional());
        beast::get_lowest_layer(*stream_).expires_after(kStepTimeout);
        http::async_write(*stream_, req_, then("write", &Client::read));
    }

    void read() {
        parser_.emplace();
        parser_->body_limit(kBodyLimit);
        http::async_read(*stream_, buffer_, *parser_, then("read", &Client::answered));
    }

    void answered() {
        const auto& res = parser_->get();
        const unsigned want = conditional() ? 304 : 200;
        if (res.result_int() != want || (want == 200 && res.body().empty())) {
            run_.error(std::string(req_.target()) + ": status " + std::to_string(res.result_int()) +
                       ", expected " + std::to_string(want));
        } else {
            run_.count(res.body().size());
        }
        if (conditional()) {
            request();
            return;
        }
        // full: this connection is done; the next request gets a new one
        beast::error_code ignored;
        beast::get_lowest_layer(*stream_).socket().close(ignored);
        buffer_.clear();
        connect();
    }

    void fail(const char* step, const beast::error_code& ec) {
        if (!run_.over) {
            run_.error(std::string(step) + ": " + ec.message());
        }
        close();
        if (!run_.over) {
            buffer_.clear();
            connect();  // go on with a new connection: the error is counted
        }
    }

    void close() {
        if (stream_) {
            beast::error_code ignored;
            beast::get_lowest_layer(*stream_).socket().close(ignored);
        }
    }

    asio::io_context& ioc_;
    Run& run_;
    std::size_t next_;
    std::optional<Stream> stream_;
    beast::flat_buffer buffer_;
    http::request<http::empty_body> req_;
    std::optional<http::response_parser<http::string_body>> parser_;
};

// Conditional mode's untimed first pass: every target's ETag, on one connection.
void learn_etags(Run& run) {
    asio::io_context ioc;
    Stream s(ioc, run.tls);
    SSL_set_tlsext_host_name(s.native_handle(), run.opt.host.c_str());
    s.set_verify_callback(ssl::host_name_verification(run.opt.host));
    beast::get_lowest_layer(s).connect(run.endpoint);
    s.handshake(ssl::stream_base::client);
    beast::flat_buffer buffer;
    for (const std::string& target : run.paths) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, run.opt.host);
        http::write(s, req);
        http::response_parser<http::string_body> parser;
        parser.body_limit(kBodyLimit);
        http::read(s, buffer, parser);
        const auto& res = parser.get();
        const auto etag = res[http::field::etag];
        if (res.result_int() != 200 || etag.empty()) {
            throw std::runtime_error(target + ": status " + std::to_string(res.result_int()) +
                                     (etag.empty() ? " without an ETag" : "") +
                                     " on the first fetch (expected 200 with an ETag)");
        }
        run.etags[target] = std::string(etag);
    }
    beast::error_code ignored;
    beast::get_lowest_layer(s).socket().close(ignored);
}

}  // namespace

int main(int argc, char** argv) {
    // before the run: what the clients' pending handlers refer to outlives them
    asio::io_context ioc(1);
    Run run;
    run.opt = parse(argc, argv);
    try {
        const auto address = asio::ip::make_address(run.opt.host);
        if (!address.is_loopback()) {
            usage("--host must be a loopback address: " + run.opt.host);
        }
        run.endpoint = tcp::endpoint(address, run.opt.port);
        std::ifstream in(run.opt.paths_file);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty()) {
                run.paths.push_back(line);
            }
        }
        if (run.paths.empty()) {
            usage("no request target in " + run.opt.paths_file);
        }
        run.tls.set_verify_mode(ssl::verify_peer);
        run.tls.load_verify_file(run.opt.ca);
        run.tls.use_certificate_chain_file(run.opt.cert);
        run.tls.use_private_key_file(run.opt.key, ssl::context::pem);
        // every handshake a full one: a fleet's hosts do not resume sessions
        SSL_CTX_set_session_cache_mode(run.tls.native_handle(), SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(run.tls.native_handle(), SSL_OP_NO_TICKET);
        if (run.opt.mode == "conditional") {
            learn_etags(run);
        }
        run.deadline.emplace(ioc);
        std::vector<std::shared_ptr<Client>> clients;
        for (unsigned i = 0; i < run.opt.clients; ++i) {
            clients.push_back(std::make_shared<Client>(ioc, run, i));
        }
        if (run.opt.mode == "full") {
            Client::start_clock(run);
        }
        for (auto& c : clients) {
            c->start();
        }
        // the whole run, connections included, is bounded
        asio::steady_timer guard(ioc);
        guard.expires_after(std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(run.opt.seconds)) +
                            2 * kStepTimeout);
        guard.async_wait([&](const beast::error_code& ec) {
            if (!ec) {
                if (!run.timed) {
                    run.error("not every connection was up within " +
                              std::to_string(kStepTimeout.count() * 2) + " s");
                }
                run.finish();
                ioc.stop();
            }
        });
        while (!run.over && !ioc.stopped()) {
            ioc.run_one();
        }
        guard.cancel();
        run.deadline.reset();
        if (!run.timed) {
            std::cerr << "mtls_load: the timed part never started\n";
            return 1;
        }
    } catch (const std::exception& e) {
        std::cerr << "mtls_load: " << e.what() << "\n";
        return 1;
    }
    const double secs = std::chrono::duration<double>(run.end - run.start).count();
    std::string server_cpu = "-";
    if (!run.opt.server_pids.empty() && run.server_cpu_start >= 0 && run.server_cpu_end >= 0) {
        char b[32];
        std::snprintf(b, sizeof b, "%.2f", run.server_cpu_end - run.server_cpu_start);
        server_cpu = b;
    }
    std::printf(
        "requests=%lu seconds=%.3f rate=%.0f errors=%lu cpu_s=%.2f server_cpu_s=%s bytes=%llu "
        "tls=%s\n",
        run.counted, secs, secs > 0 ? static_cast<double>(run.counted) / secs : 0.0, run.errors,
        run.cpu_end - run.cpu_start, server_cpu.c_str(), run.bytes,
        run.tls_used.empty() ? "-" : run.tls_used.c_str());
    return run.errors == 0 ? 0 : 1;
}
