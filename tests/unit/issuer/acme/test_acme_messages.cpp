// The ACME message parsers, problem documents, Retry-After and Link headers,
// and interruption: the pieces of the protocol that need no server.
#include <gtest/gtest.h>
#include <json/reader.h>

#include <csignal>
#include <memory>

#include "common/interrupt.h"
#include "issuer/acme/acme_client.h"
#include "issuer/acme/http_client.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace std::chrono_literals;

namespace {

Json::Value json(const std::string& text) {
    Json::CharReaderBuilder b;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errs;
    EXPECT_TRUE(r->parse(text.data(), text.data() + text.size(), &v, &errs)) << errs;
    return v;
}

}  // namespace

TEST(AcmeMessages, Authorization) {
    auto a = parse_authorization(json(R"({
        "status": "pending", "identifier": {"type": "dns", "value": "example.com"},
        "wildcard": true,
        "challenges": [
          {"type": "dns-01", "url": "https://ca/c/1", "token": "tok", "status": "pending"},
          {"type": "http-01", "url": "https://ca/c/2", "token": "t2", "status": "invalid",
           "error": {"type": "urn:ietf:params:acme:error:dns", "detail": "NXDOMAIN"}}]})"),
                                 "https://ca/a/1");
    EXPECT_EQ(a.status, "pending");
    EXPECT_EQ(a.identifier, "example.com");
    EXPECT_TRUE(a.wildcard);
    ASSERT_NE(a.find_challenge("dns-01"), nullptr);
    EXPECT_EQ(a.find_challenge("dns-01")->token, "tok");
    EXPECT_EQ(a.find_challenge("tls-alpn-01"), nullptr);
    ASSERT_TRUE(a.first_error().has_value());
    EXPECT_EQ(a.first_error()->to_string(), "dns: NXDOMAIN");
    EXPECT_THROW((void)parse_authorization(json(R"({"status": "valid"})"), "u"), AcmeError);
    EXPECT_THROW((void)parse_authorization(json("[]"), "u"), AcmeError);
}

TEST(AcmeMessages, Order) {
    auto o = parse_order(json(R"({"status": "ready", "finalize": "https://ca/f/1",
        "authorizations": ["https://ca/a/1", "https://ca/a/2"]})"),
                         "https://ca/o/1");
    EXPECT_EQ(o.status, "ready");
    EXPECT_EQ(o.authorizations.size(), 2u);
    EXPECT_EQ(o.finalize, "https://ca/f/1");
    EXPECT_TRUE(o.certificate.empty());
    EXPECT_FALSE(o.error.has_value());
    EXPECT_THROW((void)parse_order(json(R"({"status": "ready"})"), "u"), AcmeError);
}

TEST(AcmeMessages, ProblemDocumentsSayTypeDetailAndSubproblems) {
    auto p = AcmeProblem::from_json(json(R"({
        "type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "not allowed",
        "subproblems": [{"type": "urn:ietf:params:acme:error:caa", "detail": "CAA forbids",
                         "identifier": {"type": "dns", "value": "x.example"}}]})"),
                                    403);
    EXPECT_EQ(p.short_type(), "rejectedIdentifier");
    EXPECT_EQ(p.to_string(),
              "rejectedIdentifier: not allowed (HTTP 403); x.example: caa: CAA forbids");
    AcmeError e("newOrder", p);
    EXPECT_EQ(std::string(e.what()).rfind("newOrder: rejectedIdentifier", 0), 0u);
    AcmeProblem other = AcmeProblem::from_json(json(R"({"type": "about:blank"})"), 500);
    // Found by tests/fuzz (fuzz_acme_json): values jsoncpp's asInt() or
    // operator[] throw on are ignored, not thrown as Json::LogicError.
    AcmeProblem odd = AcmeProblem::from_json(
        json(R"({"type": "urn:ietf:params:acme:error:rateLimited", "status": 3000000000,
                 "subproblems": [1, "x", {"type": "urn:ietf:params:acme:error:dns"}]})"),
        0);
    EXPECT_EQ(odd.status, 0);
    EXPECT_EQ(odd.short_type(), "rateLimited");
    EXPECT_EQ(odd.subproblems, std::vector<std::string>{"dns: "});
    EXPECT_EQ(other.short_type(), "about:blank");
}

TEST(HttpHeaders, RetryAfter) {
    const auto now =
        std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
    EXPECT_EQ(parse_retry_after("120", now), 120s);
    EXPECT_EQ(parse_retry_after(" 0 ", now), 0s);
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now), 120s);
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), 0s);  // in the past
    EXPECT_FALSE(parse_retry_after("soon", now).has_value());
    // Found by tests/fuzz (fuzz_acme_json): a date past 2262 overflowed.
    EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now), 999999999s);
    EXPECT_FALSE(parse_retry_after("", now).has_value());
}

TEST(HttpHeaders, Links) {
    std::vector<std::string> links{
        R"(<https://ca/dir>;rel="index")",
        R"(<https://ca/cert/alt/1>;rel="alternate", <https://ca/issuer>; rel="up")"};
    EXPECT_EQ(find_link(links, "index"), "https://ca/dir");
    EXPECT_EQ(find_link(links, "up"), "https://ca/issuer");
    EXPECT_EQ(find_link(links, "alternate"), "https://ca/cert/alt/1");
    EXPECT_FALSE(find_link(links, "next").has_value());
    links.push_back(R"(<https://ca/cert/alt/2>;rel="alternate")");
    EXPECT_EQ(find_links(links, "alternate"),
              (std::vector<std::string>{"https://ca/cert/alt/1", "https://ca/cert/alt/2"}));
    EXPECT_TRUE(find_links(links, "next").empty());
}

TEST(Interrupt, SleepEndsAtOnceWhenInterrupted) {
    reset_interrupt();
    auto start = std::chrono::steady_clock::now();
    sleep_or_interrupt(120ms);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 120ms);

    install_interrupt_handlers();
    ASSERT_EQ(std::raise(SIGTERM), 0);  // only sets the flag
    EXPECT_TRUE(interrupted());
    start = std::chrono::steady_clock::now();
    EXPECT_THROW(sleep_or_interrupt(10s), Interrupted);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    reset_interrupt();
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
}
