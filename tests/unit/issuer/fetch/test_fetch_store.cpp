// issuer/fetch/fetch_store: installs in the store's layout, modes from the
// first byte, the previous version kept, a failed install changes nothing.
#include "issuer/fetch/fetch_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_io.h"
#include "issuer/certs/cert_store.h"
#include "issuer/fetch/fetch_state.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using testing::TestPki;

ZoneSet make_set(const TestPki& pki, unsigned long version) {
    const CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    const std::string full = pki.chain_for(key, {"DNS:example.com", "DNS:*.example.com"});
    const auto blocks = split_pem_chain(full);
    ZoneSet set;
    set.zone = DnsName::parse("example.com");
    set.version = version;
    set.written = std::chrono::system_clock::now() - std::chrono::hours(1);
    set.keys.push_back(
        {KeyType::ecdsa_p256, blocks[0], full.substr(blocks[0].size()), full, key.private_pem()});
    return set;
}

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
}

TEST(FetchStore, InstallsInTheStoreLayoutAndKeepsThePrevious) {
    TestPki pki;
    TempDir dir("fetch-store");
    FetchStore store(dir.path(), std::nullopt);
    const DnsName zone = DnsName::parse("example.com");
    EXPECT_FALSE(store.installed_version(zone));
    const ZoneSet v3 = make_set(pki, 3);
    store.install(v3);
    EXPECT_EQ(store.installed_version(zone), 3u);
    const fs::path z = store.zone_dir(zone);
    EXPECT_EQ(read_file(z / "cert.pem"), v3.keys[0].cert);
    EXPECT_EQ(read_file(z / "ecdsa-p256" / "privkey.pem"), v3.keys[0].privkey);
    EXPECT_EQ(mode_of(z / "privkey.pem"), 0600u);
    EXPECT_EQ(mode_of(z / "cert.pem"), 0644u);
    // What `serve` reads back (a mirror): the same version and files.
    const auto back = CertStore(dir.path()).read_version(zone, 3);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->files.front().fullchain_pem, v3.keys[0].fullchain);

    store.install(make_set(pki, 5));
    store.install(make_set(pki, 8));
    EXPECT_EQ(store.installed_version(zone), 8u);
    EXPECT_TRUE(fs::exists(z / ".v-5"));
    EXPECT_FALSE(fs::exists(z / ".v-3"));
}

TEST(FetchStore, KeysGetTheGroupFromTheFirstByte) {
    TestPki pki;
    TempDir dir("fetch-store");
    FetchStore store(dir.path(), ::getegid());
    store.install(make_set(pki, 1));
    const fs::path z = store.zone_dir(DnsName::parse("example.com"));
    EXPECT_EQ(mode_of(z / "privkey.pem"), 0640u);
    EXPECT_EQ(mode_of(z / "ecdsa-p256" / "privkey.pem"), 0640u);
}

TEST(FetchStore, AFailedInstallChangesNothing) {
    TestPki pki;
    TempDir dir("fetch-store");
    FetchStore store(dir.path(), std::nullopt);
    store.install(make_set(pki, 1));
    const fs::path z = store.zone_dir(DnsName::parse("example.com"));
    const std::string cert = read_file(z / "cert.pem");
    // A key type twice: its second directory cannot be made, after the
    // first type's files were written.
    ZoneSet twice = make_set(pki, 2);
    twice.keys.push_back(twice.keys.front());
    EXPECT_THROW(store.install(twice), std::system_error);
    EXPECT_EQ(store.installed_version(DnsName::parse("example.com")), 1u);
    EXPECT_EQ(read_file(z / "cert.pem"), cert);
    for (const auto& e : fs::directory_iterator(z)) {
        EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
    }
}

}  // namespace
}  // namespace acmezone::issuer

namespace acmezone::issuer {
namespace {

// The fetch state is acmezone-fetch's own file, but a damaged one must not
// end the program: nesting beyond the reader's limit reads as an empty state.
TEST(FetchState, ADamagedFileReadsAsEmpty) {
    EXPECT_TRUE(parse_fetch_state(std::string(5000, '[')).empty());
    EXPECT_TRUE(parse_fetch_state("{\"zones\": {\"example.com\": " + std::string(30, '[')).empty());
    const FetchState good =
        parse_fetch_state(R"({"zones": {"example.com": {"last_fetch": "2026-12-01T10:00:00Z"}}})");
    ASSERT_EQ(good.size(), 1u);
    EXPECT_EQ(good.at("example.com").last_fetch, "2026-12-01T10:00:00Z");
}

}  // namespace
}  // namespace acmezone::issuer
