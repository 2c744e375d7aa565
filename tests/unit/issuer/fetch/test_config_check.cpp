// issuer/fetch/config_check: `acmezone-fetch check` reads the files fetch.conf
// names (test PKI in memory, written to a temporary directory) and contacts
// no server.
#include "issuer/fetch/config_check.h"

#include <gtest/gtest.h>

#include <sstream>

#include "common/file_io.h"
#include "issuer/fetch/fetcher.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

using testing::cert_pem;
using testing::CertSpec;
using testing::make_cert;
using testing::TestPki;

struct Host {
    test_support::TempDir dir{"config-check"};
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);

    // The host's certificate, valid from `from` to `to` seconds from now.
    void write_client_cert(long from = -3600, long to = 86400) {
        CertSpec spec{"web1.example.net", {"DNS:web1.example.net"}, false, from, to, 7};
        X509Ptr cert = make_cert(spec, key.get(), pki.inter.get(), pki.inter_key.get());
        write_file_atomic(dir / "host.pem", cert_pem(cert.get()));
    }
    Host() {
        write_file_atomic(dir / "server-ca.pem", pki.root_pem());
        write_client_cert();
        write_file_atomic(dir / "host.key", key.private_pem(), 0600);
    }
    // fetch.conf with these lines after the server and files.
    FetchConfig config(const std::string& more = "zone = example.com\n") const {
        const std::string text =
            "server = https://127.0.0.1:8443\n"
            "server-ca = server-ca.pem\n"
            "client-cert = host.pem\n"
            "client-key = host.key\n"
            "target = target\n" +
            more;
        return FetchConfig::parse(text, "fetch.conf", dir.path());
    }
    // check's exit status; its summary in `out`.
    int check(const FetchConfig& c, std::string& out, bool mirror = false) const {
        std::ostringstream os;
        const int rc = check_fetch_config(c, mirror, os);
        out = os.str();
        return rc;
    }
};

TEST(FetchConfigCheck, UsableFilesPassAndNameTheHost) {
    Host h;
    std::string out;
    EXPECT_EQ(h.check(h.config(), out), kFetchOk);
    EXPECT_NE(out.find("fetch.conf: OK (no server contacted): 1 server(s), 1 zone(s)"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("this host is web1.example.net"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(h.dir / "target")) << "check installs nothing";
}

TEST(FetchConfigCheck, AMissingServerCaFails) {
    Host h;
    std::filesystem::remove(h.dir / "server-ca.pem");
    std::string out;
    EXPECT_EQ(h.check(h.config(), out), kFetchFailed);
    EXPECT_NE(out.find("1 problem(s) above"), std::string::npos) << out;
}

TEST(FetchConfigCheck, AServerCaThatIsNoCertificateFails) {
    Host h;
    write_file_atomic(h.dir / "server-ca.pem", "not a certificate\n");
    std::string out;
    EXPECT_EQ(h.check(h.config(), out), kFetchFailed);
}

TEST(FetchConfigCheck, AKeyThatIsNotTheCertificatesFails) {
    Host h;
    write_file_atomic(h.dir / "host.key", CertKey::generate(KeyType::ecdsa_p256).private_pem(),
                      0600);
    std::string out;
    EXPECT_EQ(h.check(h.config(), out), kFetchFailed);
}

TEST(FetchConfigCheck, AnExpiredClientCertificateFails) {
    Host h;
    h.write_client_cert(-7200, -3600);
    std::string out;
    EXPECT_EQ(h.check(h.config(), out), kFetchFailed);
}

TEST(FetchConfigCheck, AMissingTrustFileFails) {
    Host h;
    std::string out;
    EXPECT_EQ(h.check(h.config("zone = example.com\ntrust = roots.pem\n"), out), kFetchFailed);
}

TEST(FetchConfigCheck, NoZoneFailsUnlessMirror) {
    Host h;
    std::string out;
    EXPECT_EQ(h.check(h.config(""), out), kFetchFailed);
    EXPECT_EQ(h.check(h.config(""), out, true), kFetchOk);
    EXPECT_NE(out.find("every zone listed"), std::string::npos) << out;
}

}  // namespace
}  // namespace acmezone::issuer
