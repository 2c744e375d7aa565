// `acmezone-issuer serve`: HTTPS with client certificates only, serving each
// zone's current keys to the hosts allowed to fetch it (zone_answers.h says
// what is answered; this file moves the bytes).
//
// One thread, one Boost.Asio io_context; Boost.Beast parses HTTP/1.1 (no
// hand-written parser) over tls_socket.h (OpenSSL on the socket itself, no
// buffers of its own: an idle watch costs a few KiB). TLS 1.2 at least; the client must present a
// certificate that [serve] client-ca issued, valid now and not revoked in
// client-crl: otherwise the handshake fails (logged, no HTTP answer). Its DNS
// SANs (or CN) name the host (client_identity.h).
//
// Limits ([serve]): max-connections at once (more are accepted and closed at
// once, logged); max-header-bytes per request (more: 431, closed);
// idle-timeout for the handshake, each request to arrive and each answer to be
// written (then closed, logged); max-wait for a long poll. Keep-alive.
//
// Logs: one line per request, "serve: PEER host=NAME GET TARGET zone=Z
// version=N status=S bytes=B" (never a key byte), one per refused handshake
// and per closed idle connection. Written together: the lines of the
// handlers that ran together in one write(2), right after them.
//
// The client CRL file is also re-read without a signal when it changes
// (device, inode, size or mtime; looked at on a new connection, at most once
// a second): a revocation takes effect for the next handshake. A CRL that
// does not load keeps the previous one (logged once per change).
//
// Fleet view (fleet_view.h): every 200 or 304 for a zone, and every long poll
// that starts waiting, records the host's version and time; STATE-DIR/
// fleet.json and serve's metrics file (serve_metrics.h) are written every
// 2 s when something changed (a new version served counts), and once more
// after the drain at SIGTERM. A failed write is logged once and retried.
//
// Signals: SIGTERM or SIGINT drain (no new connections; requests in progress,
// long polls included, are answered now, idle keep-alive connections closed;
// exit 0 once none is left). SIGHUP re-reads the configuration file, the
// server certificate and key, the client CA and CRL: new connections use
// them; when the file does not load, the old one stays (logged).
#pragma once

#include <string>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

// Runs until SIGTERM/SIGINT; returns the exit code. `config_path` is re-read
// on SIGHUP. Throws ConfigError when the first setup fails (certificate, key,
// CA, CRL unreadable; listen address not bindable).
int serve(const IssuerConfig& config, const std::string& config_path);

}  // namespace acmezone::issuer
