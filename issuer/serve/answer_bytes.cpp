// See answer_bytes.h.
#include "issuer/serve/answer_bytes.h"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace acmezone::issuer {
namespace {

void append_number(std::string& out, std::size_t n) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, r.ptr);
}

}  // namespace

void append_answer_bytes(std::string& out, const Answer& a, bool keep_alive) {
    namespace http = boost::beast::http;
    out += "HTTP/1.1 ";
    append_number(out, a.status);
    out += ' ';
    const auto reason = http::obsolete_reason(http::int_to_status(a.status));
    out.append(reason.data(), reason.size());
    out += "\r\nServer: acmezone-issuer\r\nCache-Control: no-store\r\n";
    if (!a.etag.empty()) {
        out += "ETag: ";
        out += a.etag;
        out += "\r\n";
    }
    if (!a.body.empty()) {
        out += "Content-Type: application/json\r\n";
    }
    if (!keep_alive) {
        out += "Connection: close\r\n";
    }
    out += "Content-Length: ";
    append_number(out, a.body.size());
    out += "\r\n\r\n";
    out += a.body;
}

}  // namespace acmezone::issuer
