// client_identity: DNS SANs (lower-case) name the host; the CN only when
// there is no DNS SAN; names with control bytes are dropped.
#include <gtest/gtest.h>

#include "issuer/serve/client_identity.h"
#include "tests/unit/issuer_test_pki.h"

using namespace acmezone::issuer;
using namespace acmezone::issuer::testing;

namespace {

std::vector<std::string> names_of(const std::string& cn, const std::vector<std::string>& sans) {
    TestPki pki;
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    X509Ptr cert = make_cert({cn, sans, false, -3600, 86400, 7}, key.get(), pki.inter.get(),
                             pki.inter_key.get());
    return client_names(cert.get());
}

}  // namespace

TEST(ClientIdentity, DnsSansFirstAndOnly) {
    EXPECT_EQ(names_of("ignored.example.net",
                       {"DNS:Web1.Example.NET", "IP:127.0.0.1", "DNS:web1-alt.example.net"}),
              (std::vector<std::string>{"web1.example.net", "web1-alt.example.net"}));
}

TEST(ClientIdentity, TheCnWithoutDnsSans) {
    EXPECT_EQ(names_of("Host.Example.NET", {}), (std::vector<std::string>{"host.example.net"}));
    EXPECT_EQ(names_of("host.example.net", {"IP:127.0.0.1"}),
              (std::vector<std::string>{"host.example.net"}));
}

TEST(ClientIdentity, NoCertificateNoNames) {
    EXPECT_TRUE(client_names(nullptr).empty());
}
