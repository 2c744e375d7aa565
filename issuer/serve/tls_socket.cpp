// See tls_socket.h.
#include "issuer/serve/tls_socket.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <stdexcept>

namespace acmezone::issuer {

namespace asio = boost::asio;

namespace {

// Bounds on what a shutdown drops from a peer that keeps sending: per try
// (then the socket is waited for again, so one connection cannot hold the
// thread) and in all (then the socket is closed anyway).
constexpr int kDrainReadsPerTry = 16;
constexpr std::size_t kDrainMax = 1 << 20;

}  // namespace

TlsSocket::TlsSocket(asio::ip::tcp::socket socket, SSL_CTX* ctx) : socket_(std::move(socket)) {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) {
        throw std::runtime_error("serve: cannot make the socket non-blocking: " + ec.message());
    }
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
        SSL_free(ssl_);
        ERR_clear_error();
        throw std::runtime_error("serve: OpenSSL cannot make a TLS connection (out of memory?)");
    }
    // A write may report the records it sent (Beast writes the rest next),
    // and a retried write may come from the gathered copy's new address.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_accept_state(ssl_);
}

TlsSocket::~TlsSocket() {
    SSL_free(ssl_);
}

void TlsSocket::expire() {
    expired_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
}

boost::system::error_code TlsSocket::timeout_error() {
    return boost::beast::error::timeout;
}

TlsSocket::Result TlsSocket::attempt(Step step, void* data, std::size_t size) {
    if (step == Step::shutdown) {
        return shutdown_step();
    }
    if (failed_) {
        return {Want::done, asio::error::broken_pipe, 0};
    }
    ERR_clear_error();
    int rc = 1;
    std::size_t n = 0;
    switch (step) {
        case Step::handshake:
            rc = SSL_do_handshake(ssl_);
            break;
        case Step::read:
            if (size == 0) {
                return {};
            }
            rc = SSL_read_ex(ssl_, data, size, &n);
            break;
        case Step::write:
            if (size == 0) {
                return {};
            }
            rc = SSL_write_ex(ssl_, data, size, &n);
            if (rc == 1 && data == write_copy_.data()) {
                std::string().swap(write_copy_);  // the next write gathers anew
            }
            break;
        case Step::shutdown:
            break;
    }
    if (rc == 1) {
        return {Want::done, {}, n};
    }
    return failure(SSL_get_error(ssl_, rc));
}

TlsSocket::Result TlsSocket::failure(int ssl_error) {
    Result r;
    switch (ssl_error) {
        case SSL_ERROR_WANT_READ:
            r.want = Want::read;
            return r;
        case SSL_ERROR_WANT_WRITE:
            r.want = Want::write;
            return r;
        case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify
            r.ec = asio::error::eof;
            return r;
        case SSL_ERROR_SYSCALL:
            failed_ = true;
            r.ec = errno != 0 ? boost::system::error_code(errno, boost::system::system_category())
                              : boost::system::error_code(asio::ssl::error::stream_truncated);
            ERR_clear_error();
            return r;
        default: {
            failed_ = true;
            // The first error queued, as asio::ssl::stream reports it.
            const unsigned long e = ERR_get_error();
            ERR_clear_error();
            if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
                ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
                r.ec = asio::ssl::error::stream_truncated;
            } else if (e != 0) {
                r.ec =
                    boost::system::error_code(static_cast<int>(e), asio::error::get_ssl_category());
            } else {
                r.ec = asio::error::connection_aborted;
            }
            return r;
        }
    }
}

TlsSocket::Result TlsSocket::shutdown_step() {
    if (!close_notify_sent_) {
        if (!failed_ && SSL_is_init_finished(ssl_) == 1) {
            ERR_clear_error();
            const int rc = SSL_shutdown(ssl_);
            if (rc < 0 && SSL_get_error(ssl_, rc) == SSL_ERROR_WANT_WRITE) {
                return {Want::write, {}, 0};
            }
            ERR_clear_error();  // a close_notify that cannot go is not worth more
        }
        close_notify_sent_ = true;
        boost::system::error_code ignored;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    }
    // Lingering close: drop what the peer still sends until its FIN, so that
    // closing with unread bytes does not reset the connection (and lose the
    // answer the peer has not read yet).
    char scratch[4096];
    for (int i = 0; i < kDrainReadsPerTry && drained_ < kDrainMax; ++i) {
        const ssize_t n = ::recv(socket_.native_handle(), scratch, sizeof scratch, MSG_DONTWAIT);
        if (n > 0) {
            drained_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return {Want::read, {}, 0};
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        return {};  // the peer's FIN, or an error: nothing more to wait for
    }
    return drained_ < kDrainMax ? Result{Want::read, {}, 0} : Result{};
}

}  // namespace acmezone::issuer
