// ACME Renewal Information (RFC 9773): certID from a real certificate (the
// RFC's own example: AKI keyIdentifier 69:88:5B:...:C8:D4 and serial
// 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"), renewalInfo
// answers, the re-poll interval.
#include <gtest/gtest.h>
#include <json/reader.h>

#include <memory>

#include "common/utc_time.h"
#include "issuer/acme/ari.h"
#include "tests/unit/issuer_test_pki.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace acmezone::issuer::testing;
using namespace std::chrono_literals;

namespace {

// A self-signed certificate with this serial and, unless empty, this AKI
// keyIdentifier.
std::string cert_with(long serial, const std::string& key_id) {
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    X509Ptr cert = make_cert({"ari", {"DNS:example.com"}, false, -3600, 86400, serial}, key.get(),
                             nullptr, key.get());
    if (!key_id.empty()) {
        AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
        akid->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(akid->keyid, reinterpret_cast<const unsigned char*>(key_id.data()),
                              static_cast<int>(key_id.size()));
        const int ok = X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, akid, 0,
                                         X509V3_ADD_DEFAULT);
        AUTHORITY_KEYID_free(akid);
        if (ok != 1 || X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
            throw OpensslError("adding the AKI");
        }
    }
    return cert_pem(cert.get());
}

const std::string kRfcKeyId(
    "\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C\xDE\x01\xC8\xD4", 20);

Json::Value json(const std::string& text) {
    Json::CharReaderBuilder b;
    std::unique_ptr<Json::CharReader> r(b.newCharReader());
    Json::Value v;
    std::string errors;
    EXPECT_TRUE(r->parse(text.data(), text.data() + text.size(), &v, &errors)) << errors;
    return v;
}

}  // namespace

TEST(AriCertId, TheRfc9773Example) {
    // Serial 0x87654321: its top bit is set, so DER keeps a leading zero.
    EXPECT_EQ(ari_cert_id(cert_with(0x87654321L, kRfcKeyId)),
              "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST(AriCertId, SmallSerialAndTheFirstCertificateOfAChain) {
    // Serial 0x12: one octet, no padding; the chain's second certificate is ignored.
    const std::string pem = cert_with(0x12, kRfcKeyId) + cert_with(0x87654321L, "other");
    EXPECT_EQ(ari_cert_id(pem), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.Eg");
}

TEST(AriCertId, NoAuthorityKeyIdentifierOrNoCertificate) {
    try {
        ari_cert_id(cert_with(5, ""));
        FAIL() << "no AKI accepted";
    } catch (const AriError& e) {
        EXPECT_NE(std::string(e.what()).find("Authority Key Identifier"), std::string::npos);
    }
    EXPECT_THROW(ari_cert_id("not a certificate"), AriError);
}

TEST(AriRenewalInfo, ParsesTheSuggestedWindow) {
    const RenewalInfo info = parse_renewal_info(json(R"({
        "suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00.5Z"},
        "explanationURL": "https://acme.example.com/docs/ari"})"));
    EXPECT_EQ(format_utc(info.window_start), "2025-01-02T04:00:00Z");
    EXPECT_EQ(format_utc(info.window_end), "2025-01-03T04:00:00Z");
    EXPECT_EQ(info.explanation_url, "https://acme.example.com/docs/ari");
}

TEST(AriRenewalInfo, AFarFutureWindowIsClampedNotOverflowed) {
    // Years up to 9999 parse; in system_clock's nanoseconds they would
    // overflow. The window clamps to 2200 (utc_time.h), and stays ordered.
    const RenewalInfo info = parse_renewal_info(json(R"({
        "suggestedWindow": {"start": "9998-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"}})"));
    EXPECT_EQ(format_utc(info.window_start), "2200-01-01T00:00:00Z");
    EXPECT_EQ(format_utc(info.window_end), "2200-01-01T00:00:00Z");
    EXPECT_EQ(info.window_end - info.window_start, std::chrono::seconds(0));
    const RenewalInfo open_ended = parse_renewal_info(json(R"({
        "suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "9999-12-31T23:59:59Z"}})"));
    EXPECT_EQ(format_utc(open_ended.window_end), "2200-01-01T00:00:00Z");
    EXPECT_GT(open_ended.window_end - open_ended.window_start, std::chrono::hours(24 * 365 * 170));
}

TEST(AriRenewalInfo, RefusesMalformedAnswers) {
    for (
        const char* bad : {
            R"([])",
            R"({})",
            R"({"suggestedWindow": "soon"})",
            R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z"}})",
            R"({"suggestedWindow": {"start": "yesterday", "end": "2025-01-03T04:00:00Z"}})",
            R"({"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})",
        }) {
        EXPECT_THROW(parse_renewal_info(json(bad)), AriError) << bad;
    }
}

TEST(AriRenewalInfo, RepollIntervalFollowsRetryAfterWithinBounds) {
    EXPECT_EQ(ari_repoll_interval(std::nullopt), 6h);
    EXPECT_EQ(ari_repoll_interval(3600s), 3600s);
    EXPECT_EQ(ari_repoll_interval(1s), 60s);
    EXPECT_EQ(ari_repoll_interval(30 * 24h), 24h);
}
