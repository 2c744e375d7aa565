// A server-side TLS connection for serve: OpenSSL reads and writes the
// non-blocking TCP socket itself (SSL_set_fd), and Boost.Asio only says when
// the socket is ready. A Boost.Beast AsyncStream (async_read_some,
// async_write_some), so Beast's HTTP reader and writer work on it unchanged.
//
// Why not asio::ssl::stream: it moves every byte through a BIO pair and two
// buffers of its own, about 68 KiB a connection whether it is busy or not
// (stream_core.hpp's two 17 KiB vectors, engine.ipp's BIO pair of two
// 17 KiB buffers). A fleet's watches are connections that wait for minutes;
// here an idle one keeps only OpenSSL's SSL object (its record buffers are
// released while idle: SSL_MODE_RELEASE_BUFFERS), and no byte is copied
// twice on its way.
//
// Semantics, as asio::ssl::stream's where they overlap:
//   - every operation first tries OpenSSL, then waits for the socket only
//     when OpenSSL asks to (SSL_ERROR_WANT_READ/WRITE), so records OpenSSL
//     holds already are read at once; a result found without waiting is
//     delivered through a post, never inside the initiating call;
//   - errors: OpenSSL's as asio's ssl category (the reason's text, e.g.
//     "peer did not return a certificate"), an orderly close_notify or a
//     FIN at a record boundary as asio::error::eof, a FIN inside a record
//     as asio::ssl::error::stream_truncated;
//   - expire(): the pending operation and every later one end with
//     beast::error::timeout (the caller's deadline passed);
//   - async_shutdown sends close_notify, then closes the sending side and
//     reads (and drops) what the peer still sends until its FIN, so that an
//     answer sent before an unread request body is not lost to a reset; it
//     is bounded by the caller's deadline (expire()).
// One thread: no operation of a kind may start while another of that kind
// is pending (Beast's reader and writer keep that), and every call is made
// on the socket's executor.
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <string>

namespace acmezone::issuer {

class TlsSocket {
  public:
    using executor_type = boost::asio::ip::tcp::socket::executor_type;

    // One TLS server connection on `socket` with `ctx`'s settings; throws
    // std::runtime_error when OpenSSL cannot make one.
    TlsSocket(boost::asio::ip::tcp::socket socket, SSL_CTX* ctx);
    ~TlsSocket();
    TlsSocket(const TlsSocket&) = delete;
    TlsSocket& operator=(const TlsSocket&) = delete;

    executor_type get_executor() { return socket_.get_executor(); }
    boost::asio::ip::tcp::socket& socket() { return socket_; }
    SSL* native_handle() { return ssl_; }
    // The deadline passed: see above.
    void expire();

    template <class Handler>
    auto async_handshake(Handler&& handler) {
        return start(Step::handshake, nullptr, 0, std::forward<Handler>(handler));
    }
    template <class MutableBuffers, class Handler>
    auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
        const boost::asio::mutable_buffer b = first_nonempty(buffers);
        return start(Step::read, b.data(), b.size(), std::forward<Handler>(handler));
    }
    template <class ConstBuffers, class Handler>
    auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
        // Small pieces (Beast's header fields, a short body) become one record;
        // one piece is written from where it is.
        const boost::asio::const_buffer b = gather(buffers);
        // Only read by SSL_write_ex.
        return start(Step::write, const_cast<void*>(b.data()), b.size(),
                     std::forward<Handler>(handler));
    }
    template <class Handler>
    auto async_shutdown(Handler&& handler) {
        return start(Step::shutdown, nullptr, 0, std::forward<Handler>(handler));
    }

  private:
    enum class Step { handshake, read, write, shutdown };
    enum class Want { done, read, write };
    struct Result {
        Want want = Want::done;
        boost::system::error_code ec;
        std::size_t bytes = 0;
    };

    // One try of `step` with OpenSSL (or, shutting down, of the drain).
    Result attempt(Step step, void* data, std::size_t size);
    Result shutdown_step();
    // What SSL_get_error said of a call that did not succeed.
    Result failure(int ssl_error);

    // One operation, as Asio's composed operation: try, wait when asked, try again.
    struct Op {
        TlsSocket* self;
        Step step;
        void* data;
        std::size_t size;
        bool waited = false;

        template <class Self>
        void operator()(Self& op, boost::system::error_code ec = {}) {
            if (self->expired_ && (!ec || ec == boost::asio::error::operation_aborted)) {
                ec = timeout_error();
            }
            Result r;
            if (ec) {
                r.ec = ec;
            } else {
                r = self->attempt(step, data, size);
            }
            if (r.want != Want::done) {
                waited = true;
                self->socket_.async_wait(r.want == Want::read
                                             ? boost::asio::ip::tcp::socket::wait_read
                                             : boost::asio::ip::tcp::socket::wait_write,
                                         std::move(op));
                return;
            }
            if (waited) {
                op.complete(r.ec, r.bytes);
                return;
            }
            // Not from inside the initiating call.
            boost::asio::post(self->socket_.get_executor(),
                              [op = std::move(op), r]() mutable { op.complete(r.ec, r.bytes); });
        }
    };

    template <class Handler>
    auto start(Step step, void* data, std::size_t size, Handler&& handler) {
        return boost::asio::async_compose<Handler, void(boost::system::error_code, std::size_t)>(
            Op{this, step, data, size}, handler, socket_);
    }

    template <class Buffers>
    static boost::asio::mutable_buffer first_nonempty(const Buffers& buffers) {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            boost::asio::mutable_buffer b(*it);
            if (b.size() != 0) {
                return b;
            }
        }
        return {};
    }

    template <class Buffers>
    boost::asio::const_buffer gather(const Buffers& buffers) {
        auto it = boost::asio::buffer_sequence_begin(buffers);
        const auto end = boost::asio::buffer_sequence_end(buffers);
        while (it != end && boost::asio::const_buffer(*it).size() == 0) {
            ++it;
        }
        if (it == end) {
            return {};
        }
        const boost::asio::const_buffer first(*it);
        auto next = it;
        while (++next != end && boost::asio::const_buffer(*next).size() == 0) {
        }
        if (first.size() >= kGatherMax || next == end) {
            return first;  // a record's worth, or the only piece: no copy
        }
        write_copy_.clear();
        for (; it != end && write_copy_.size() < kGatherMax; ++it) {
            const boost::asio::const_buffer b(*it);
            const std::size_t n = std::min(b.size(), kGatherMax - write_copy_.size());
            write_copy_.append(static_cast<const char*>(b.data()), n);
        }
        return boost::asio::buffer(write_copy_);
    }

    static boost::system::error_code timeout_error();

    // What fits one TLS record.
    static constexpr std::size_t kGatherMax = 16384;

    boost::asio::ip::tcp::socket socket_;
    SSL* ssl_ = nullptr;
    bool expired_ = false;
    bool failed_ = false;  // a fatal TLS error: no close_notify may follow
    bool close_notify_sent_ = false;
    std::size_t drained_ = 0;  // bytes dropped while shutting down
    // The gathered bytes of the pending write (released when it completes
    // with less than a record: see attempt()).
    std::string write_copy_;
};

}  // namespace acmezone::issuer
