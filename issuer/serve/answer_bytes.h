// The bytes of one serve answer on the wire: the status line, serve's header
// fields and the body, in one buffer (one TLS record for a small answer, one
// write(2)), built without an HTTP message object per answer. The same bytes
// as Boost.Beast's serializer writes for the message serve used to build
// (test_answer_bytes.cpp holds them side by side):
//
//     HTTP/1.1 <status> <reason>
//     Server: acmezone-issuer
//     Cache-Control: no-store
//     ETag: <etag>                      when the answer has one
//     Content-Type: application/json    when it has a body
//     Connection: close                 when the connection ends after it
//     Content-Length: <n>               0 for a 304, as Beast writes it
#pragma once

#include <string>

#include "issuer/serve/zone_answers.h"

namespace acmezone::issuer {

// Appends the answer `a` to `out` (`out` keeps its capacity for the next).
void append_answer_bytes(std::string& out, const Answer& a, bool keep_alive);

}  // namespace acmezone::issuer
