// current_links: serve's cached reading of the zones' `current` links. Each
// change is asked for at once after it was made, with no wait: a new version
// from the real store, `current` switched by rename many times over, a
// zone's first directory, a directory removed and made again; and the
// fallback when the store's directory is not there to watch.
#include "issuer/serve/current_links.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using testing::TestPki;

const DnsName kZone = DnsName::parse("example.com");
const std::vector<std::string> kSans{"DNS:example.com", "DNS:*.example.com"};

// `current` -> .v-N by a rename over it, as CertStore switches (the version's
// directory is made first).
void switch_to(const fs::path& zdir, unsigned long n) {
    const std::string target = ".v-" + std::to_string(n);
    fs::create_directories(zdir / target);
    const fs::path tmp = zdir / ".current.tmp";
    fs::remove(tmp);
    fs::create_symlink(target, tmp);
    fs::rename(tmp, zdir / "current");
}

TEST(CurrentLinks, ANewVersionInTheRealStoreIsSeenAtOnce) {
    TempDir dir;
    TestPki pki;
    const CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    CertStore store(dir.path() / "certs");
    store.store(kZone, key.private_pem(), pki.chain_for(key, kSans, -3600, 86400, 301));
    CurrentLinks links(store);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(1));
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(1));  // kept
    for (unsigned long n = 2; n <= 4; ++n) {
        store.store(kZone, key.private_pem(), pki.chain_for(key, kSans, -3600, 86400, 300 + n));
        EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(n));
        EXPECT_EQ(links.current_version(kZone), store.current_version(kZone));
    }
}

TEST(CurrentLinks, EverySwitchIsSeenByTheNextLookup) {
    TempDir dir;
    CertStore store(dir.path() / "certs");
    const fs::path zdir = store.zone_dir(kZone);
    switch_to(zdir, 1);
    CurrentLinks links(store);
    for (unsigned long n = 1; n <= 500; ++n) {
        switch_to(zdir, n);
        ASSERT_EQ(links.current_version(kZone), std::optional<unsigned long>(n)) << "switch " << n;
        ASSERT_EQ(links.current_version(kZone), std::optional<unsigned long>(n)) << "again " << n;
    }
    fs::remove(zdir / "current");
    EXPECT_EQ(links.current_version(kZone), std::nullopt);
}

TEST(CurrentLinks, AZoneWithoutADirectoryThenItsFirstVersionThenItsDirectoryMadeAgain) {
    TempDir dir;
    CertStore store(dir.path() / "certs");
    fs::create_directories(store.dir());
    const fs::path zdir = store.zone_dir(kZone);
    CurrentLinks links(store);
    EXPECT_EQ(links.current_version(kZone), std::nullopt);
    EXPECT_EQ(links.current_version(kZone), std::nullopt);
    switch_to(zdir, 1);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(1));
    // Removed and made again with another version: the new directory is watched.
    fs::remove_all(zdir);
    EXPECT_EQ(links.current_version(kZone), std::nullopt);
    switch_to(zdir, 7);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(7));
    switch_to(zdir, 8);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(8));
    // Replaced by a rename of another directory over it.
    const fs::path other = dir.path() / "certs" / ".other";
    switch_to(other, 9);
    fs::remove_all(zdir);
    fs::rename(other, zdir);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(9));
    switch_to(zdir, 10);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(10));
}

TEST(CurrentLinks, TheStoreMadeLaterOrMovedAwayStillAnswersAsTheStoreDoes) {
    TempDir dir;
    CertStore store(dir.path() / "certs");
    CurrentLinks links(store);  // no store directory to watch yet
    EXPECT_EQ(links.current_version(kZone), std::nullopt);
    switch_to(store.zone_dir(kZone), 3);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(3));
    switch_to(store.zone_dir(kZone), 4);
    EXPECT_EQ(links.current_version(kZone), std::optional<unsigned long>(4));

    CurrentLinks watched(store);
    EXPECT_EQ(watched.current_version(kZone), std::optional<unsigned long>(4));
    fs::rename(store.dir(), dir.path() / "certs.old");
    switch_to(store.zone_dir(kZone), 5);
    EXPECT_EQ(watched.current_version(kZone), std::optional<unsigned long>(5));
}

}  // namespace
}  // namespace acmezone::issuer
