// answer_bytes: serve's answers byte for byte as Boost.Beast's serializer
// writes the message serve built for them before (the oracle here), for
// every status serve sends, with and without a body and an ETag, kept alive
// or closing.
#include "issuer/serve/answer_bytes.h"

#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

namespace acmezone::issuer {
namespace {

namespace http = boost::beast::http;

// What serve built with Beast for `a`, serialised.
std::string beast_bytes(const Answer& a, bool keep_alive) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(a.status);
    res.set(http::field::server, "acmezone-issuer");
    res.set(http::field::cache_control, "no-store");
    if (!a.etag.empty()) {
        res.set(http::field::etag, a.etag);
    }
    if (!a.body.empty()) {
        res.set(http::field::content_type, "application/json");
    }
    res.body() = a.body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    http::response_serializer<http::string_body> sr(res);
    std::string out;
    boost::beast::error_code ec;
    while (!sr.is_done()) {
        sr.next(ec, [&](boost::beast::error_code&, const auto& buffers) {
            out += boost::beast::buffers_to_string(buffers);
            sr.consume(boost::beast::buffer_bytes(buffers));
        });
        EXPECT_FALSE(ec) << ec.message();
    }
    return out;
}

TEST(AnswerBytes, TheSameBytesAsBeastsSerializerForEveryAnswer) {
    const std::vector<Answer> answers{
        {200, "{\"zone\":\"example.com\",\"version\":\"12\"}\n", "12", "\"12\""},
        {200, "{\"zones\":[]}\n", "", ""},
        {304, "", "12", "\"12\""},
        ZoneAnswers::not_found(),
        ZoneAnswers::error(400, "bad request target"),
        ZoneAnswers::error(405, "only GET"),
        ZoneAnswers::error(431, "request header larger than 8192 bytes"),
        ZoneAnswers::error(503, "the zone's versions changed while read; retry"),
        {200, std::string(40000, 'k'), "3", "\"3\""},
    };
    for (const Answer& a : answers) {
        for (const bool keep_alive : {true, false}) {
            std::string out = "left";
            append_answer_bytes(out, a, keep_alive);
            EXPECT_EQ(out, "left" + beast_bytes(a, keep_alive))
                << a.status << " keep-alive " << keep_alive;
        }
    }
}

}  // namespace
}  // namespace acmezone::issuer
