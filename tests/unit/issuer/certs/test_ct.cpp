// ct: the SCTs of a real, publicly logged certificate (www.comodo.com, 2015:
// three SCTs from Google Aviator, DigiCert and Google Pilot; ct/README.md says
// where each file comes from) are read, verified against the logs' keys in a
// log list, and a tampered SCT, an unlisted log, a missing issuer and a
// certificate without SCTs each fail the policy with their reason.
#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <algorithm>
#include <filesystem>

#include "common/file_io.h"
#include "common/utc_time.h"
#include "issuer/certs/ct.h"
#include "issuer/certs/openssl_ptr.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace acmezone::issuer::testing;
using acmezone::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(ACMEZONE_SOURCE_DIR) / "tests/unit/issuer/certs/ct";
const char* kAviator = "aPaY+B9kgr46jO65KB1M/HFRXWeT1ETRCmesu09P+8Q=";
const char* kDigicert = "VhQGmi/XwuzT9eG9RLI+x0Z2ubyZEVzA75SYVdaJ0N0=";
const char* kPilot = "pLkJkLQYWBSHuxOizGdwCjw1mAT5G9+443fNDsgN3BA=";

std::string leaf() {
    return read_file(kData / "www.comodo.com.pem");
}
std::string chain() {
    return leaf() + read_file(kData / "comodo-rsa-ev-ca.pem");
}

// The leaf with one byte of the Pilot log's SCT signature changed (the
// signature's first bytes, as `openssl x509 -text` shows them, located in the
// DER), followed by the issuer.
std::string chain_with_tampered_pilot_sct() {
    const std::string pem = leaf();
    BioPtr in = memory_bio(pem);
    X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    std::string bytes(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    const std::string pilot_sig("\x30\x45\x02\x20\x2b\x06\x42\x0f\xd9\x71", 10);
    const auto at = bytes.find(pilot_sig);
    EXPECT_NE(at, std::string::npos);
    EXPECT_EQ(bytes.find(pilot_sig, at + 1), std::string::npos);
    bytes[at + 8] = static_cast<char>(bytes[at + 8] ^ 0x01);
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509Ptr tampered(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
    EXPECT_NE(tampered.get(), nullptr);
    return cert_pem(tampered.get()) + read_file(kData / "comodo-rsa-ev-ca.pem");
}

std::vector<std::string> ids(const CtReport& r) {
    std::vector<std::string> out;
    for (const SctInfo& s : r.scts) {
        out.push_back(s.log_id);
    }
    return out;
}

// The SCT of log `id` (an empty one, failing the test, when there is none).
SctInfo sct_of(const CtReport& r, const std::string& id) {
    auto it = std::find_if(r.scts.begin(), r.scts.end(),
                           [&](const SctInfo& s) { return s.log_id == id; });
    if (it == r.scts.end()) {
        ADD_FAILURE() << "no SCT of " << id;
        return {};
    }
    return *it;
}

}  // namespace

TEST(Ct, WithoutALogListTheSctsAreReadAndCountedByLogId) {
    const CtReport r = read_scts(chain(), nullptr);
    EXPECT_EQ(ids(r), (std::vector<std::string>{kAviator, kDigicert, kPilot}));
    for (const SctInfo& s : r.scts) {
        EXPECT_EQ(s.status, SctStatus::parsed);
        EXPECT_EQ(s.log_name, "");
        EXPECT_EQ(format_utc(s.timestamp), "2015-12-01T13:31:25Z");
    }
    EXPECT_EQ(r.counted_logs().size(), 3u);
    EXPECT_EQ(ct_policy_failure(r), "");
}

TEST(Ct, EverySctVerifiesAgainstItsLogsKey) {
    const auto logs = CtLogList::load(kData / "ct_log_list.cnf");
    const CtReport r = read_scts(chain(), logs.get());
    ASSERT_EQ(r.scts.size(), 3u);
    for (const SctInfo& s : r.scts) {
        EXPECT_EQ(s.status, SctStatus::verified) << s.log();
    }
    EXPECT_EQ(r.counted_logs(),
              (std::vector<std::string>{"Google Aviator log", "DigiCert Log Server",
                                        "Google Pilot log"}));
    EXPECT_EQ(ct_policy_failure(r), "");
}

TEST(Ct, ATamperedSctFailsAgainstItsLog) {
    const auto logs = CtLogList::load(kData / "ct_log_list.cnf");
    const CtReport r = read_scts(chain_with_tampered_pilot_sct(), logs.get());
    EXPECT_EQ(sct_of(r, kPilot).status, SctStatus::invalid);
    EXPECT_EQ(sct_of(r, kAviator).status, SctStatus::verified);
    EXPECT_EQ(sct_of(r, kDigicert).status, SctStatus::verified);
    const std::string why = ct_policy_failure(r);
    EXPECT_NE(why.find("the SCT of Google Pilot log does not verify against the CT log list"),
              std::string::npos)
        << why;
    // Without a list the tampering cannot be seen: the SCT is only parsed.
    EXPECT_EQ(ct_policy_failure(read_scts(chain_with_tampered_pilot_sct(), nullptr)), "");
}

TEST(Ct, OnlySctsOfListedLogsCount) {
    TempDir dir;
    const fs::path one = dir.path() / "one.cnf";
    std::string pilot_only = read_file(kData / "ct_log_list.cnf");
    pilot_only.replace(pilot_only.find("enabled_logs = pilot,aviator,digicert,rocketeer"),
                       std::string("enabled_logs = pilot,aviator,digicert,rocketeer").size(),
                       "enabled_logs = pilot");
    write_file_atomic(one, pilot_only, 0644);
    const CtReport r = read_scts(chain(), CtLogList::load(one).get());
    EXPECT_EQ(sct_of(r, kPilot).status, SctStatus::verified);
    EXPECT_EQ(sct_of(r, kAviator).status, SctStatus::unknown_log);
    EXPECT_EQ(r.counted_logs(), std::vector<std::string>{"Google Pilot log"});
    const std::string why = ct_policy_failure(r);
    EXPECT_NE(why.find("carries verified SCTs from 1 distinct log (Google Pilot log), at least 2 "
                       "are required; not counted: " +
                       std::string(kAviator) + ": unknown log"),
              std::string::npos)
        << why;
}

TEST(Ct, WithoutTheIssuerNoSctCanBeVerified) {
    const auto logs = CtLogList::load(kData / "ct_log_list.cnf");
    const CtReport r = read_scts(leaf(), logs.get());
    ASSERT_EQ(r.scts.size(), 3u);
    for (const SctInfo& s : r.scts) {
        EXPECT_EQ(s.status, SctStatus::unverifiable);
    }
    EXPECT_NE(ct_policy_failure(r).find("from 0 distinct logs"), std::string::npos)
        << ct_policy_failure(r);
}

TEST(Ct, ACertificateWithoutSctsFails) {
    TestPki pki;
    const CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    const CtReport r = read_scts(pki.chain_for(key, {"DNS:example.com"}), nullptr);
    EXPECT_TRUE(r.scts.empty());
    EXPECT_NE(ct_policy_failure(r).find("the certificate carries no SCTs"), std::string::npos)
        << ct_policy_failure(r);
}

TEST(Ct, ABadLogListIsRefusedNamingTheFile) {
    TempDir dir;
    const fs::path bad = dir.path() / "bad.cnf";
    write_file_atomic(bad, "enabled_logs = a\n[a]\ndescription = A\nkey = bm90IGEga2V5\n", 0644);
    try {
        (void)CtLogList::load(bad);
        FAIL() << "a log list with a bad key loaded";
    } catch (const CtError& e) {
        EXPECT_NE(std::string(e.what()).find(bad.string()), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)CtLogList::load(dir.path() / "missing.cnf"), CtError);
}

TEST(Ct, TheDefaultModeIsOffOnlyForACaOnThisMachine) {
    for (const char* local : {"https://127.0.0.1:14000/dir", "https://127.3.2.1/dir",
                              "https://localhost:14000/dir", "https://LOCALHOST/dir",
                              "https://pebble.localhost:14000/dir", "https://[::1]:14000/dir"}) {
        EXPECT_TRUE(is_local_test_ca(local)) << local;
        EXPECT_EQ(default_ct_mode(local), CtMode::off) << local;
    }
    for (const char* remote :
         {"https://acme-v02.api.letsencrypt.org/directory", "https://127.example.com/dir",
          "https://localhost.example.com/dir", "https://127.0.0.1.nip.io/dir",
          "https://10.0.0.1/dir", "https://[2001:db8::1]/dir"}) {
        EXPECT_FALSE(is_local_test_ca(remote)) << remote;
        EXPECT_EQ(default_ct_mode(remote), CtMode::require) << remote;
    }
    EXPECT_EQ(ct_mode_from_name("warn"), CtMode::warn);
    EXPECT_EQ(ct_mode_from_name("Require"), std::nullopt);
}
