// See server.h.
#include "issuer/serve/server.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <csignal>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "common/error.h"
#include "common/file_io.h"
#include "common/log.h"
#include "issuer/serve/answer_bytes.h"
#include "issuer/serve/client_identity.h"
#include "issuer/serve/fleet_view.h"
#include "issuer/serve/request_target.h"
#include "issuer/serve/serve_metrics.h"
#include "issuer/serve/tls_socket.h"
#include "issuer/serve/zone_answers.h"

namespace acmezone::issuer {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// How often a long poll looks at the store for a new version.
constexpr auto kPollInterval = std::chrono::milliseconds(200);
// Bound on the TLS close_notify exchange at the end of a connection.
constexpr auto kShutdownTimeout = std::chrono::seconds(5);
// How much of a request target a log line shows.
constexpr std::size_t kLoggedTargetMax = 200;
// How often fleet.json and the metrics file are written when something changed.
constexpr auto kFleetWriteInterval = std::chrono::seconds(2);
// The room an answer's buffer keeps between answers: a 304's, not a set's.
constexpr std::size_t kKeptAnswerBytes = 512;
// How often, at most, a new connection has the client CRL file looked at.
constexpr auto kCrlCheckInterval = std::chrono::seconds(1);

// [[noreturn]] helper: an OpenSSL/Asio setup step that failed, as a ConfigError.
[[noreturn]] void setup_failed(const std::string& what, const std::string& why) {
    throw ConfigError("serve: " + what + ": " + why);
}

// The TLS context of one configuration: mutual TLS only, TLS 1.2 at least.
void setup_tls(ssl::context& ctx, const ServeSettings& s) {
    SSL_CTX* c = ctx.native_handle();
    SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
    // A connection waiting in a long poll holds no TLS record buffers (about
    // 34 KiB each): OpenSSL frees them while idle and takes them back on the
    // next record (as nginx and Apache's mod_ssl do). A fleet's watches are
    // idle connections (tls_socket.h keeps no buffers of its own).
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    // A record's header and body in one read(2), not two.
    SSL_CTX_set_read_ahead(c, 1);
    boost::system::error_code ec;
    ctx.use_certificate_chain_file(s.cert_file.string(), ec);
    if (ec) {
        setup_failed("serve.cert " + s.cert_file.string(), ec.message());
    }
    std::string key;
    try {
        key = read_private_file(s.key_file, "serve key");
    } catch (const std::exception& e) {
        setup_failed("serve.key", e.what());
    }
    ctx.use_private_key(asio::buffer(key), ssl::context::pem, ec);
    OPENSSL_cleanse(key.data(), key.size());
    if (ec) {
        setup_failed("serve.key " + s.key_file.string(), ec.message());
    }
    if (SSL_CTX_check_private_key(c) != 1) {
        setup_failed("serve.key " + s.key_file.string(),
                     "does not match the certificate in " + s.cert_file.string());
    }
    ctx.load_verify_file(s.client_ca.string(), ec);
    if (ec) {
        setup_failed("serve.client-ca " + s.client_ca.string(), ec.message());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(s.client_ca.c_str());
    if (names == nullptr) {
        setup_failed("serve.client-ca " + s.client_ca.string(), "no certificate in it");
    }
    SSL_CTX_set_client_CA_list(c, names);
    if (s.client_crl) {
        X509_STORE* store = SSL_CTX_get_cert_store(c);
        X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (lookup == nullptr ||
            X509_load_crl_file(lookup, s.client_crl->c_str(), X509_FILETYPE_PEM) <= 0) {
            setup_failed("serve.client-crl " + s.client_crl->string(),
                         "not readable as PEM CRL(s)");
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    static const unsigned char kSessionContext[] = "acmezone-serve";
    SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
}

// One configuration as loaded: new connections take the newest, each keeps
// its own alive (SIGHUP).
struct Setup {
    explicit Setup(IssuerConfig c) : config(std::move(c)), answers(config, true) {
        // Before the file is read: a change while it is read is seen next time.
        if (config.serve->client_crl) {
            crl_stamp = file_stamp(*config.serve->client_crl);
        }
        setup_tls(tls, *config.serve);
    }
    Setup(const Setup&) = delete;
    Setup& operator=(const Setup&) = delete;

    IssuerConfig config;
    ZoneAnswers answers;
    ssl::context tls{ssl::context::tls_server};
    // The client CRL file as it was when `tls` read it (or last failed to).
    std::optional<FileStamp> crl_stamp;
    const ServeSettings& serve() const { return *config.serve; }
};

// serve's log lines, written together: each line is kept and a flush is
// posted to the io_context, which runs it after the handlers that were ready
// with it. Idle, a line is written as soon as its handler returns; under
// load one write(2) carries the lines of many requests (one line each still).
// Lines are never held longer than that, nor beyond kLogBatchBytes.
class BatchedLog {
  public:
    explicit BatchedLog(asio::io_context& ioc) : ioc_(ioc) {
        set_log_sink([this](LogLevel level, const std::string& line) { add(level, line); });
    }
    ~BatchedLog() {
        set_log_sink(nullptr);
        flush();
    }
    BatchedLog(const BatchedLog&) = delete;
    BatchedLog& operator=(const BatchedLog&) = delete;

  private:
    static constexpr std::size_t kLogBatchBytes = 64 * 1024;

    void add(LogLevel level, const std::string& line) {
        std::lock_guard lock(mutex_);
        append_log_line(pending_, level, line);
        if (pending_.size() >= kLogBatchBytes) {
            write_log_text(pending_);
            pending_.clear();
        } else if (!flush_posted_) {
            flush_posted_ = true;
            asio::post(ioc_, [this] { flush(); });
        }
    }
    void flush() {
        std::string out;
        {
            std::lock_guard lock(mutex_);
            out.swap(pending_);
            flush_posted_ = false;
        }
        write_log_text(out);
    }

    asio::io_context& ioc_;
    std::mutex mutex_;  // serve logs from one thread; a stray other one stays safe
    std::string pending_;
    bool flush_posted_ = false;
};

class Connection;

class Server {
  public:
    Server(asio::io_context& ioc, std::shared_ptr<Setup> setup, std::string config_path)
        : acceptor_(ioc),
          signals_(ioc, SIGTERM, SIGINT, SIGHUP),
          setup_(std::move(setup)),
          config_path_(std::move(config_path)),
          fleet_timer_(ioc) {}

    void start();
    bool draining() const { return draining_; }
    void connection_ended() { --active_; }
    // An answer sent: counted per status (serve_metrics.h).
    void count_answer(unsigned status) {
        ++requests_[status];
        metrics_dirty_ = true;
    }
    // A host shown to hold `version` of `zone` (a 200 or 304; fleet_view.h).
    void record_fetch(const std::string& zone, const std::string& host, const std::string& version,
                      unsigned status);
    // fleet.json and the metrics file, when something changed since the last
    // write; true when fleet.json was written.
    bool write_fleet();

  private:
    void accept();
    void check_crl();
    void wait_for_signal();
    void drain();
    void reload();
    void schedule_fleet_write();
    std::map<std::string, ZoneFleetCount> fleet_counts() const;

    tcp::acceptor acceptor_;
    asio::signal_set signals_;
    std::shared_ptr<Setup> setup_;
    std::string config_path_;
    unsigned active_ = 0;
    bool draining_ = false;
    std::list<std::weak_ptr<Connection>> connections_;
    std::chrono::steady_clock::time_point last_crl_check_{};
    // The fleet view and the request counters, and what was last written.
    asio::steady_timer fleet_timer_;
    FleetView fleet_;
    std::map<unsigned, unsigned long> requests_;
    std::map<std::string, ZoneFleetCount> counts_written_;
    bool fleet_dirty_ = false;
    bool metrics_dirty_ = true;  // the first write has the zones at 0
    bool write_failed_ = false;  // logged once until a write succeeds
};

class Connection : public std::enable_shared_from_this<Connection> {
  public:
    // Throws std::runtime_error when OpenSSL cannot make the connection.
    Connection(tcp::socket socket, std::shared_ptr<Setup> setup, Server& server)
        : tls_(std::move(socket), setup->tls.native_handle()),
          setup_(std::move(setup)),
          server_(server),
          deadline_timer_(tls_.get_executor()),
          poll_timer_(tls_.get_executor()) {
        beast::error_code ec;
        const auto ep = tls_.socket().remote_endpoint(ec);
        peer_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    ~Connection() { server_.connection_ended(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void start();
    // SIGTERM: an idle connection is closed, a long poll answered now.
    void drain();

  private:
    enum class State { handshake, reading, answering, waiting, closing };

    void on_handshake(const beast::error_code& ec);
    void read_request();
    void on_read(const beast::error_code& ec);
    void handle(const http::request<http::empty_body>& req);
    void answer_zone(const DnsName& zone, const std::string& if_none_match,
                     std::optional<std::chrono::seconds> wait);
    void poll();
    void send(const Answer& a, bool keep_alive, const std::string& zone = "");
    void log_answer(const Answer& a, const std::string& zone);
    void on_write(const beast::error_code& ec);
    void close();
    // The handshake, each request, each answer and the close must end within
    // `d` from now, else the pending operation ends with beast::error::timeout
    // (tls_socket.h: expire()). Moving the deadline later costs no timer call.
    void expire_after(Clock::duration d);
    void on_deadline();
    const std::string& host() const {
        static const std::string dash = "-";
        return names_.empty() ? dash : names_.front();
    }
    std::chrono::seconds idle() const { return setup_->serve().idle_timeout; }

    TlsSocket tls_;
    std::shared_ptr<Setup> setup_;
    Server& server_;
    Clock::time_point deadline_{};
    asio::steady_timer deadline_timer_;
    bool deadline_armed_ = false;
    asio::steady_timer poll_timer_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::empty_body>> parser_;
    // The answer being written (answer_bytes.h) and whether the connection
    // stays open after it.
    std::string out_;
    bool answer_keep_alive_ = true;
    State state_ = State::handshake;
    std::string peer_;
    std::vector<std::string> names_;
    std::string target_;  // of the request being answered, for the log
    // A long poll: the zone, the version the client has, until when.
    DnsName poll_zone_;
    std::string poll_if_none_match_;
    bool poll_keep_alive_ = true;
    std::chrono::steady_clock::time_point poll_deadline_;
};

void Connection::start() {
    expire_after(idle());
    tls_.async_handshake([self = shared_from_this()](const beast::error_code& ec, std::size_t) {
        self->on_handshake(ec);
    });
}

void Connection::expire_after(Clock::duration d) {
    deadline_ = Clock::now() + d;
    if (deadline_armed_ && deadline_timer_.expiry() <= deadline_) {
        return;  // on_deadline() sees the later deadline and waits on
    }
    deadline_armed_ = true;
    deadline_timer_.expires_at(deadline_);
    // Not an owner: a connection that is done goes at once, not at its deadline.
    deadline_timer_.async_wait([weak = weak_from_this()](const beast::error_code& ec) {
        if (ec) {
            return;  // replaced by an earlier deadline, or the connection is gone
        }
        if (auto self = weak.lock()) {
            self->on_deadline();
        }
    });
}

void Connection::on_deadline() {
    deadline_armed_ = false;
    if (Clock::now() < deadline_) {
        expire_after(deadline_ - Clock::now());
        return;
    }
    tls_.expire();
}

void Connection::on_handshake(const beast::error_code& ec) {
    if (ec == beast::error::timeout) {
        log_info("serve: ", peer_, ": closed: no TLS handshake within ", idle().count(), " s");
        return;
    }
    if (ec) {
        std::string why = ec.message();
        const long verify = SSL_get_verify_result(tls_.native_handle());
        if (verify != X509_V_OK) {
            why +=
                std::string(" (client certificate: ") + X509_verify_cert_error_string(verify) + ")";
        }
        if (ec != asio::error::operation_aborted) {
            log_info("serve: ", peer_, ": TLS handshake refused: ", why);
        }
        return;
    }
    names_ = client_names(SSL_get0_peer_certificate(tls_.native_handle()));
    read_request();
}

void Connection::read_request() {
    if (server_.draining()) {
        close();
        return;
    }
    state_ = State::reading;
    parser_.emplace();
    parser_->header_limit(setup_->serve().max_header_bytes);
    expire_after(idle());
    http::async_read(tls_, buffer_, *parser_,
                     [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                         self->on_read(ec);
                     });
}

void Connection::on_read(const beast::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == ssl::error::stream_truncated ||
        ec == asio::error::eof || ec == asio::error::operation_aborted) {
        return;  // the client closed, or SIGTERM closed an idle connection
    }
    if (ec == beast::error::timeout) {
        log_info("serve: ", peer_, " host=", host(), ": closed: no request within ", idle().count(),
                 " s");
        return;
    }
    state_ = State::answering;
    target_.clear();
    if (ec == http::error::header_limit) {
        send(ZoneAnswers::error(431, "request header larger than " +
                                         std::to_string(setup_->serve().max_header_bytes) +
                                         " bytes"),
             false);
        return;
    }
    if (ec) {
        send(ZoneAnswers::error(400, "bad request: " + ec.message()), false);
        return;
    }
    handle(parser_->get());
}

void Connection::handle(const http::request<http::empty_body>& req) {
    const std::string_view target(req.target().data(), req.target().size());
    target_ = std::string(target.substr(0, kLoggedTargetMax));
    const bool keep_alive = req.keep_alive();
    if (req.method() != http::verb::get) {
        send(ZoneAnswers::error(405, "only GET"), keep_alive);
        return;
    }
    const RequestTarget t = parse_request_target(target);
    switch (t.kind) {
        case RequestTarget::Kind::bad_request:
            send(ZoneAnswers::error(400, "bad request target"), keep_alive);
            return;
        case RequestTarget::Kind::not_found:
            send(ZoneAnswers::not_found(), keep_alive);
            return;
        case RequestTarget::Kind::zone_list:
            send(setup_->answers.zone_list(names_), keep_alive);
            return;
        case RequestTarget::Kind::zone:
            poll_keep_alive_ = keep_alive;
            answer_zone(t.zone,
                        std::string(req[http::field::if_none_match].data(),
                                    req[http::field::if_none_match].size()),
                        t.wait);
            return;
    }
}

void Connection::answer_zone(const DnsName& zone, const std::string& if_none_match,
                             std::optional<std::chrono::seconds> wait) {
    const Answer a = setup_->answers.zone(zone, names_, if_none_match);
    const auto bound = std::min(wait.value_or(std::chrono::seconds(0)), setup_->serve().max_wait);
    if (a.status != 304 || bound.count() == 0 || server_.draining()) {
        send(a, poll_keep_alive_, zone.text());
        return;
    }
    log_info("serve: ", peer_, " host=", host(), " GET ", target_, " zone=", zone.text(),
             " version=", a.version, ": waiting up to ", bound.count(), " s for another version");
    server_.record_fetch(zone.text(), host(), a.version, a.status);
    state_ = State::waiting;
    expire_after(bound + idle());  // no I/O while waiting: only the poll's bound
    poll_zone_ = zone;
    poll_if_none_match_ = if_none_match;
    poll_deadline_ = std::chrono::steady_clock::now() + bound;
    poll();
}

void Connection::poll() {
    poll_timer_.expires_after(kPollInterval);
    poll_timer_.async_wait([self = shared_from_this()](const beast::error_code&) {
        const bool over =
            self->server_.draining() || std::chrono::steady_clock::now() >= self->poll_deadline_;
        // Only the `current` link (and with stage-for the versions' times)
        // is read until the version differs; the answer is built only then.
        const auto n = self->setup_->answers.served_version(self->poll_zone_);
        if (!over && n &&
            etag_matches(self->poll_if_none_match_, "\"" + std::to_string(*n) + "\"")) {
            self->poll();
            return;
        }
        self->send(
            self->setup_->answers.zone(self->poll_zone_, self->names_, self->poll_if_none_match_),
            self->poll_keep_alive_, self->poll_zone_.text());
    });
}

void Connection::send(const Answer& a, bool keep_alive, const std::string& zone) {
    state_ = State::answering;
    answer_keep_alive_ = keep_alive && !server_.draining();
    append_answer_bytes(out_, a, answer_keep_alive_);
    log_answer(a, zone);
    server_.count_answer(a.status);
    if (!zone.empty() && (a.status == 200 || a.status == 304)) {
        server_.record_fetch(zone, host(), a.version, a.status);
    }
    expire_after(idle());
    asio::async_write(tls_, asio::buffer(out_),
                      [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                          self->on_write(ec);
                      });
}

// One line per answer, built here rather than through log_info's stream.
void Connection::log_answer(const Answer& a, const std::string& zone) {
    if (!log_enabled(LogLevel::info)) {
        return;
    }
    const auto or_dash = [](const std::string& s) -> const std::string& {
        static const std::string dash = "-";
        return s.empty() ? dash : s;
    };
    thread_local std::string line;  // its room kept from answer to answer
    line.clear();
    line += "serve: ";
    line += peer_;
    line += " host=";
    line += host();
    line += " GET ";
    line += or_dash(target_);
    line += " zone=";
    line += or_dash(zone);
    line += " version=";
    line += or_dash(a.version);
    line += " status=";
    line += std::to_string(a.status);
    line += " bytes=";
    line += std::to_string(a.body.size());
    log_line(LogLevel::info, line);
}

void Connection::on_write(const beast::error_code& ec) {
    OPENSSL_cleanse(out_.data(), out_.size());  // it may hold private keys
    out_.clear();
    if (out_.capacity() > kKeptAnswerBytes) {
        std::string().swap(out_);  // a whole set's room is not kept while idle
    }
    if (ec) {
        return;
    }
    if (!answer_keep_alive_) {
        close();
        return;
    }
    read_request();
}

void Connection::close() {
    state_ = State::closing;
    expire_after(kShutdownTimeout);
    tls_.async_shutdown([self = shared_from_this()](const beast::error_code&, std::size_t) {});
}

void Connection::drain() {
    if (state_ == State::handshake || state_ == State::reading) {
        beast::error_code ignored;
        tls_.socket().cancel(ignored);
    } else if (state_ == State::waiting) {
        poll_timer_.cancel();
    }
}

void Server::start() {
    const ServeSettings& s = setup_->serve();
    beast::error_code ec;
    const auto address = asio::ip::make_address(s.listen.address(), ec);
    tcp::endpoint ep(address, s.listen.port());
    if (!ec) {
        acceptor_.open(ep.protocol(), ec);
    }
    if (!ec) {
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor_.bind(ep, ec);
    }
    if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        setup_failed("serve.listen " + s.listen.to_string(), "cannot listen: " + ec.message());
    }
    log_info("serve: listening on ", s.listen.to_string(), " (", setup_->config.zones.size(),
             " zones, stage-for ", s.stage_for.count(), " s, max-connections ", s.max_connections,
             ")");
    const auto path = fleet_file(setup_->config.state_dir);
    try {
        fleet_ = load_fleet(path);
    } catch (const std::exception& e) {
        log_warning("serve: ", e.what(), ": the fleet view starts empty");
    }
    accept();
    wait_for_signal();
    schedule_fleet_write();
}

void Server::record_fetch(const std::string& zone, const std::string& host,
                          const std::string& version, unsigned status) {
    unsigned long n = 0;
    const auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), n);
    if (ec != std::errc() || end != version.data() + version.size()) {
        return;
    }
    fleet_.record(zone, host, n, status, std::chrono::system_clock::now());
    fleet_dirty_ = true;
}

std::map<std::string, ZoneFleetCount> Server::fleet_counts() const {
    std::map<std::string, ZoneFleetCount> counts;
    for (const DnsName& zone : setup_->config.zones) {
        const auto it = fleet_.zones.find(zone.text());
        if (it == fleet_.zones.end()) {
            continue;
        }
        const auto served = setup_->answers.served_version(zone);
        counts[zone.text()] = {static_cast<unsigned>(it->second.size()),
                               count_outdated(it->second, served)};
    }
    return counts;
}

bool Server::write_fleet() {
    // A new version (or its staging time passing) changes the counts without a request.
    const auto counts = fleet_counts();
    const bool counts_changed = counts.size() != counts_written_.size() ||
                                !std::equal(counts.begin(), counts.end(), counts_written_.begin(),
                                            [](const auto& a, const auto& b) {
                                                return a.first == b.first &&
                                                       a.second.hosts == b.second.hosts &&
                                                       a.second.outdated == b.second.outdated;
                                            });
    const auto& metrics = setup_->config.metrics_file;
    const bool write_metrics = metrics && (metrics_dirty_ || counts_changed);
    if (!fleet_dirty_ && !write_metrics) {
        return false;
    }
    bool wrote = false;
    try {
        if (fleet_dirty_) {
            write_file_atomic(fleet_file(setup_->config.state_dir),
                              fleet_to_json(fleet_, std::chrono::system_clock::now()), 0644);
            fleet_dirty_ = false;
            wrote = true;
        }
        if (write_metrics) {
            write_metrics_file(serve_metrics_file(*metrics),
                               serve_metric_samples(setup_->config.zones, counts, requests_));
            metrics_dirty_ = false;
            counts_written_ = counts;
        }
        if (write_failed_) {
            log_info("serve: the fleet view and metrics are written again");
            write_failed_ = false;
        }
    } catch (const std::exception& e) {
        if (!write_failed_) {
            log_error("serve: fleet view or metrics not written (retried every ",
                      kFleetWriteInterval.count(), " s): ", e.what());
            write_failed_ = true;
        }
    }
    return wrote;
}

void Server::schedule_fleet_write() {
    fleet_timer_.expires_after(kFleetWriteInterval);
    fleet_timer_.async_wait([this](const beast::error_code& ec) {
        if (ec || draining_) {
            return;  // SIGTERM: serve() writes once more after the last answer
        }
        write_fleet();
        schedule_fleet_write();
    });
}

void Server::accept() {
    acceptor_.async_accept([this](const beast::error_code& ec, tcp::socket socket) {
        if (!acceptor_.is_open()) {
            return;
        }
        if (ec) {
            log_warning("serve: accept failed: ", ec.message());
        } else if (active_ >= setup_->serve().max_connections) {
            beast::error_code ignored;
            const auto ep = socket.remote_endpoint(ignored);
            log_warning("serve: ", ep.address().to_string(), ":", ep.port(),
                        ": closed: max-connections (", setup_->serve().max_connections,
                        ") reached");
            socket.close(ignored);
        } else {
            check_crl();
            connections_.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
            try {
                auto c = std::make_shared<Connection>(std::move(socket), setup_, *this);
                ++active_;  // its destructor counts it out
                connections_.push_back(c);
                c->start();
            } catch (const std::exception& e) {
                log_error(e.what(), ": connection closed");
            }
        }
        accept();
    });
}

// A changed client CRL file is read for new connections without a SIGHUP:
// looked at (stat) at most once every kCrlCheckInterval, on a new connection.
void Server::check_crl() {
    // A copy: the Setup that holds the path may be gone once replaced.
    const std::optional<std::filesystem::path> crl = setup_->serve().client_crl;
    const auto now = std::chrono::steady_clock::now();
    if (!crl || now - last_crl_check_ < kCrlCheckInterval) {
        return;
    }
    last_crl_check_ = now;
    const auto stamp = file_stamp(*crl);
    if (stamp == setup_->crl_stamp) {
        return;
    }
    try {
        setup_ = std::make_shared<Setup>(setup_->config);
        log_info("serve: ", crl->string(), " changed: client CRL re-read for new connections");
    } catch (const std::exception& e) {
        setup_->crl_stamp = stamp;  // tried again when it changes again
        log_error("serve: ", crl->string(),
                  " changed but does not load; new connections keep the previous CRL: ", e.what());
    }
}

void Server::wait_for_signal() {
    signals_.async_wait([this](const beast::error_code& ec, int signal) {
        if (ec) {
            return;
        }
        if (signal == SIGHUP) {
            reload();
            wait_for_signal();
            return;
        }
        drain();  // no further wait: once the connections are gone, run() returns
    });
}

void Server::drain() {
    log_info("serve: stopping: draining ", active_, " connection(s)");
    draining_ = true;
    fleet_timer_.cancel();
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& weak : connections_) {
        if (auto c = weak.lock()) {
            c->drain();
        }
    }
}

void Server::reload() {
    try {
        IssuerConfig config = IssuerConfig::load(config_path_);
        if (!config.serve) {
            throw ConfigError(config_path_ + ": [serve] listen is gone");
        }
        if (!(config.serve->listen == setup_->serve().listen)) {
            log_warning("serve: SIGHUP: serve.listen changed to ", config.serve->listen.to_string(),
                        ": takes effect at the next start");
        }
        setup_ = std::make_shared<Setup>(std::move(config));
        log_info("serve: SIGHUP: configuration, certificate, client CA and CRL re-read");
    } catch (const std::exception& e) {
        log_error("serve: SIGHUP: keeping the previous configuration: ", e.what());
    }
}

}  // namespace

int serve(const IssuerConfig& config, const std::string& config_path) {
    if (!config.serve) {
        throw ConfigError(config.origin +
                          ": serve needs a [serve] section with listen, cert, key and client-ca");
    }
    // OpenSSL writes the sockets itself (tls_socket.h) with write(2): a peer
    // gone before its answer or close_notify must be an EPIPE for that
    // connection, not a signal that ends the service (as nginx does).
    std::signal(SIGPIPE, SIG_IGN);
    asio::io_context ioc(1);
    {
        const BatchedLog batched(ioc);  // until the loop has ended
        Server server(ioc, std::make_shared<Setup>(config), config_path);
        server.start();
        ioc.run();
        if (server.write_fleet()) {  // what the last answers (drained long polls) changed
            log_info("serve: fleet view written at exit");
        }
    }
    log_info("serve: stopped");
    return 0;
}

}  // namespace acmezone::issuer
