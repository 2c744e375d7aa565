// cert_store: the layout, the modes, the atomic switch, pruning, and that a
// failure part-way leaves the existing certificate byte for byte.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <set>
#include <thread>

#include "common/file_io.h"
#include "issuer/certs/cert_store.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using namespace acmezone::issuer;
using namespace acmezone::issuer::testing;
using acmezone::test_support::TempDir;
namespace fs = std::filesystem;

namespace {

const DnsName kZone = DnsName::parse("example.com");
const std::vector<std::string> kSans{"DNS:example.com", "DNS:*.example.com"};

std::map<std::string, std::string> snapshot(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        const std::string rel = fs::relative(e.path(), dir).string();
        if (e.is_symlink()) {
            out[rel] = "-> " + fs::read_symlink(e.path()).string();
        } else if (e.is_regular_file()) {
            out[rel] = read_file(e.path());
        } else {
            out[rel] = "<dir>";
        }
    }
    return out;
}

}  // namespace

class CertStoreTest : public ::testing::Test {
  protected:
    TempDir tmp{"store"};
    fs::path dir = tmp.path();
    TestPki pki;
};

TEST_F(CertStoreTest, LayoutModesAndContent) {
    CertStore store(dir);
    EXPECT_FALSE(store.current(kZone).has_value());
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    const std::string chain = pki.chain_for(key, kSans);
    store.store(kZone, key.private_pem(), chain);

    const fs::path z = dir / "example.com";
    EXPECT_EQ(fs::read_symlink(z / "current"), ".v-1");
    for (const char* f : {"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"}) {
        EXPECT_EQ(fs::read_symlink(z / f), fs::path("current") / f) << f;
    }
    struct stat st {};
    ASSERT_EQ(::stat((z / ".v-1/privkey.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((z / ".v-1/cert.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);

    EXPECT_EQ(read_file(z / "privkey.pem"), key.private_pem());
    EXPECT_EQ(read_file(z / "fullchain.pem"), chain);
    EXPECT_EQ(read_file(z / "cert.pem"), split_pem_chain(chain)[0]);
    EXPECT_EQ(read_file(z / "chain.pem"), pki.inter_pem());
    EXPECT_EQ(read_file(z / "cert.pem") + read_file(z / "chain.pem"), chain);

    auto info = store.current(kZone);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->dns_names, (std::vector<std::string>{"*.example.com", "example.com"}));
}

TEST_F(CertStoreTest, RenewalSwitchesAndKeepsOnlyTheLastTwoVersions) {
    CertStore store(dir);
    std::string last_key;
    for (int i = 1; i <= 4; ++i) {
        CertKey key = CertKey::generate(KeyType::ecdsa_p256);
        store.store(kZone, key.private_pem(), pki.chain_for(key, kSans, -3600, 86400 * 90, i));
        last_key = key.private_pem();
        EXPECT_EQ(fs::read_symlink(dir / "example.com/current"), ".v-" + std::to_string(i));
    }
    EXPECT_EQ(read_file(dir / "example.com/privkey.pem"), last_key);
    EXPECT_EQ(store.current(kZone)->serial_hex, "04");
    EXPECT_FALSE(fs::exists(dir / "example.com/.v-1"));
    EXPECT_FALSE(fs::exists(dir / "example.com/.v-2"));
    EXPECT_TRUE(fs::exists(dir / "example.com/.v-3/privkey.pem"));
    EXPECT_TRUE(fs::exists(dir / "example.com/.v-4/privkey.pem"));
}

TEST_F(CertStoreTest, BadChainChangesNothing) {
    CertStore store(dir);
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, key.private_pem(), pki.chain_for(key, kSans));
    auto before = snapshot(dir);
    CertKey key2 = CertKey::generate(KeyType::ecdsa_p256);
    EXPECT_THROW(store.store(kZone, key2.private_pem(), "not a chain"), CertCheckError);
    EXPECT_EQ(snapshot(dir), before);
}

TEST_F(CertStoreTest, AWriteFailingHalfWayChangesNothing) {
    CertStore store(dir);
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, key.private_pem(), pki.chain_for(key, kSans));
    auto before = snapshot(dir);

    // Files above 400 bytes cannot be written: the key (about 240) is written
    // into the new version, cert.pem (larger) fails with EFBIG.
    CertKey key2 = CertKey::generate(KeyType::ecdsa_p256);
    const std::string pem2 = key2.private_pem();
    const std::string chain2 = pki.chain_for(key2, kSans);
    ASSERT_LT(pem2.size(), 400u);
    ASSERT_GT(split_pem_chain(chain2)[0].size(), 400u);
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 400;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    bool threw = false;
    try {
        store.store(kZone, pem2, chain2);
    } catch (const std::exception&) {
        threw = true;
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    EXPECT_TRUE(threw);
    EXPECT_EQ(snapshot(dir), before);
    // And the store still works afterwards.
    store.store(kZone, pem2, chain2);
    EXPECT_EQ(read_file(dir / "example.com/privkey.pem"), pem2);
}

TEST_F(CertStoreTest, ZonesAreSeparate) {
    CertStore store(dir);
    CertKey a = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, a.private_pem(), pki.chain_for(a, kSans));
    EXPECT_FALSE(store.current(DnsName::parse("example.org")).has_value());
    EXPECT_EQ(store.zone_dir(DnsName::parse("Example.ORG")), dir / "example.org");
}

TEST_F(CertStoreTest, TwoKeyTypesInOneVersion) {
    CertStore store(dir);
    CertKey ec = CertKey::generate(KeyType::ecdsa_p256);
    CertKey rsa = CertKey::generate(KeyType::rsa_2048);
    const std::string ec_chain = pki.chain_for(ec, kSans);
    const std::string rsa_chain = pki.chain_for(rsa, kSans);
    store.store(kZone, {{KeyType::ecdsa_p256, ec.private_pem(), ec_chain},
                        {KeyType::rsa_2048, rsa.private_pem(), rsa_chain}});
    const fs::path z = dir / "example.com";
    EXPECT_EQ(fs::read_symlink(z / "current"), ".v-1");
    EXPECT_EQ(fs::read_symlink(z / "ecdsa-p256"), "current/ecdsa-p256");
    EXPECT_EQ(fs::read_symlink(z / "rsa-2048"), "current/rsa-2048");
    // The first type at the top level too.
    EXPECT_EQ(read_file(z / "privkey.pem"), ec.private_pem());
    EXPECT_EQ(read_file(z / "fullchain.pem"), ec_chain);
    EXPECT_EQ(read_file(z / "ecdsa-p256/privkey.pem"), ec.private_pem());
    EXPECT_EQ(read_file(z / "rsa-2048/privkey.pem"), rsa.private_pem());
    EXPECT_EQ(read_file(z / "rsa-2048/fullchain.pem"), rsa_chain);
    EXPECT_EQ(read_file(z / "rsa-2048/cert.pem") + read_file(z / "rsa-2048/chain.pem"), rsa_chain);
    struct stat st {};
    ASSERT_EQ(::stat((z / ".v-1/rsa-2048/privkey.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // ... as the first type's files themselves (written once, linked twice).
    for (const char* f : {"privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"}) {
        struct stat top {
        }, first{};
        ASSERT_EQ(::stat((z / ".v-1" / f).c_str(), &top), 0) << f;
        ASSERT_EQ(::stat((z / ".v-1/ecdsa-p256" / f).c_str(), &first), 0) << f;
        EXPECT_EQ(top.st_ino, first.st_ino) << f;
        EXPECT_EQ(top.st_nlink, 2u) << f;
    }
    EXPECT_EQ(store.current_chain(kZone, KeyType::rsa_2048), rsa_chain);
    EXPECT_EQ(store.current_chain(kZone, KeyType::ecdsa_p256), ec_chain);
    EXPECT_TRUE(store.current(kZone, KeyType::rsa_2048).has_value());
    EXPECT_FALSE(store.current(kZone, KeyType::ecdsa_p384).has_value());

    // The pair changes together: a second store switches both at once.
    CertKey ec2 = CertKey::generate(KeyType::ecdsa_p256);
    CertKey rsa2 = CertKey::generate(KeyType::rsa_2048);
    store.store(kZone, {{KeyType::ecdsa_p256, ec2.private_pem(), pki.chain_for(ec2, kSans)},
                        {KeyType::rsa_2048, rsa2.private_pem(), pki.chain_for(rsa2, kSans)}});
    EXPECT_EQ(fs::read_symlink(z / "current"), ".v-2");
    EXPECT_EQ(read_file(z / "ecdsa-p256/privkey.pem"), ec2.private_pem());
    EXPECT_EQ(read_file(z / "rsa-2048/privkey.pem"), rsa2.private_pem());
    EXPECT_THROW(store.store(kZone, {{KeyType::rsa_2048, rsa.private_pem(), rsa_chain},
                                     {KeyType::rsa_2048, rsa.private_pem(), rsa_chain}}),
                 std::invalid_argument);
}

TEST_F(CertStoreTest, AVersionWithoutKeyTypeDirectoriesIsStillRead) {
    CertStore store(dir);
    CertKey rsa = CertKey::generate(KeyType::rsa_2048);
    const std::string chain = pki.chain_for(rsa, kSans);
    store.store(kZone, rsa.private_pem(), chain);  // today's layout
    EXPECT_FALSE(fs::exists(dir / "example.com/rsa-2048"));
    EXPECT_TRUE(store.current(kZone).has_value());
    EXPECT_TRUE(store.current(kZone, KeyType::rsa_2048).has_value());
    EXPECT_EQ(store.current_chain(kZone, KeyType::rsa_2048), chain);
    EXPECT_FALSE(store.current(kZone, KeyType::ecdsa_p256).has_value());
}

TEST_F(CertStoreTest, CurrentAllReadsEachCertificateOnce) {
    CertStore store(dir);
    EXPECT_TRUE(store.current_all(kZone).empty());
    CertKey rsa = CertKey::generate(KeyType::rsa_2048);
    const std::string chain = pki.chain_for(rsa, kSans);
    store.store(kZone, rsa.private_pem(), chain);  // no key-type directories
    auto all = store.current_all(kZone);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].type, KeyType::rsa_2048);
    EXPECT_TRUE(all[0].top_level);
    EXPECT_EQ(all[0].fullchain_pem, chain);
    EXPECT_EQ(all[0].info.serial_hex, store.current(kZone)->serial_hex);

    CertKey ec = CertKey::generate(KeyType::ecdsa_p256);
    const std::string ec_chain = pki.chain_for(ec, kSans, -3600, 86400 * 90, 7);
    store.store(kZone, {{KeyType::ecdsa_p256, ec.private_pem(), ec_chain},
                        {KeyType::rsa_2048, rsa.private_pem(), chain}});
    all = store.current_all(kZone);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].type, KeyType::ecdsa_p256);  // by directory name
    EXPECT_FALSE(all[0].top_level);
    EXPECT_EQ(all[0].fullchain_pem, ec_chain);
    EXPECT_EQ(all[0].info.serial_hex, "07");
    EXPECT_EQ(all[1].type, KeyType::rsa_2048);
    EXPECT_EQ(all[1].fullchain_pem, chain);
}

// A version directory above `current` is what a store that died before its
// switch left: the next store removes it, so that it never becomes the
// version kept before the new one (serve may hand that one out).
TEST_F(CertStoreTest, AVersionLeftByACrashedStoreIsRemoved) {
    CertStore store(dir);
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, key.private_pem(), pki.chain_for(key, kSans));
    const fs::path z = dir / "example.com";
    fs::create_directory(z / ".v-2");
    write_file_atomic(z / ".v-2/privkey.pem", "half", 0600);  // no cert.pem: died there
    CertKey key2 = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, key2.private_pem(), pki.chain_for(key2, kSans));
    EXPECT_EQ(fs::read_symlink(z / "current"), ".v-3");
    EXPECT_FALSE(fs::exists(z / ".v-2"));
    EXPECT_EQ(store.previous_version(kZone), 1u);
    EXPECT_EQ(read_file(z / "privkey.pem"), key2.private_pem());
}

TEST_F(CertStoreTest, NextKeysAre0600AndReadBack) {
    CertStore store(dir);
    EXPECT_FALSE(store.next_key(kZone, KeyType::ecdsa_p256).has_value());
    CertKey next = CertKey::generate(KeyType::ecdsa_p256);
    store.write_next_key(kZone, KeyType::ecdsa_p256, next);
    const fs::path p = dir / "example.com/next/ecdsa-p256.pem";
    EXPECT_EQ(store.next_key_path(kZone, KeyType::ecdsa_p256), p);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(p.parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    auto back = store.next_key(kZone, KeyType::ecdsa_p256);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->public_der(), next.public_der());
    write_file_atomic(p, "garbage", 0600);
    try {
        (void)store.next_key(kZone, KeyType::ecdsa_p256);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    }
}

// Issue 20 item 1: a zone name is exactly one path component below the store,
// whatever '/' it holds (RFC 2317 names are valid DNS); '/' is encoded.
TEST_F(CertStoreTest, ZoneNamesWithSlashesStayOneComponentBelowTheStore) {
    CertStore store(dir);
    for (const char* text : {"0/25.2.0.192.in-addr.arpa", "/var/lib/acmezone/ca-failover",
                             "/etc/cron.d/x", "example.com/next", "a/./b.example", "x/y"}) {
        const DnsName zone = DnsName::parse(text);
        const fs::path z = store.zone_dir(zone);
        EXPECT_EQ(z.parent_path(), dir) << text << " -> " << z;
        EXPECT_EQ(z.filename().string().find('/'), std::string::npos) << text;
    }
    EXPECT_EQ(store.zone_dir(DnsName::parse("0/25.2.0.192.in-addr.arpa")),
              dir / "0%2f25.2.0.192.in-addr.arpa");
    EXPECT_NE(store.zone_dir(DnsName::parse("example.com/next")),
              store.zone_dir(DnsName::parse("example.com")) / "next");

    // Written and read back under the encoded directory, nothing elsewhere.
    // (A relative name, so that the unfixed code, which split it at '/',
    // wrote below the test's own directory and nowhere else.)
    const DnsName zone = DnsName::parse("escape/.b/x");
    CertKey key = CertKey::generate(KeyType::ecdsa_p256);
    store.write_next_key(zone, KeyType::ecdsa_p256, key);
    EXPECT_TRUE(fs::exists(dir / "escape%2f.b%2fx/next/ecdsa-p256.pem"));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
    EXPECT_FALSE(fs::exists(dir / "escape"));
    auto back = store.next_key(zone, KeyType::ecdsa_p256);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back->public_der(), key.public_der());
}

// Issue 20 item 6: a next key the issuer reads back is mode-checked like
// every other key file: group or others may not read it.
TEST_F(CertStoreTest, NextKeyReadableByOthersIsRefused) {
    CertStore store(dir);
    CertKey next = CertKey::generate(KeyType::ecdsa_p256);
    store.write_next_key(kZone, KeyType::ecdsa_p256, next);
    const fs::path p = store.next_key_path(kZone, KeyType::ecdsa_p256);
    for (mode_t mode : {0640, 0604, 0644}) {
        ASSERT_EQ(::chmod(p.c_str(), mode), 0);
        try {
            (void)store.next_key(kZone, KeyType::ecdsa_p256);
            ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
        } catch (const std::runtime_error& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
            EXPECT_NE(msg.find("chmod 600 " + p.string()), std::string::npos) << msg;
        }
    }
    ASSERT_EQ(::chmod(p.c_str(), 0600), 0);
    EXPECT_TRUE(store.next_key(kZone, KeyType::ecdsa_p256).has_value());
    // A symlink in its place is not followed.
    const fs::path elsewhere = dir / "elsewhere.pem";
    write_file_atomic(elsewhere, next.private_pem(), 0600);
    fs::remove(p);
    fs::create_symlink(elsewhere, p);
    EXPECT_THROW((void)store.next_key(kZone, KeyType::ecdsa_p256), std::runtime_error);
}

// The standby set: a complete version beside the live one, switched in by its
// own link; storing it changes no file, link or name of the live set.
TEST_F(CertStoreTest, StandbySetIsStoredBesideTheLiveSetWithoutTouchingIt) {
    CertStore store(dir);
    const fs::path z = dir / "example.com";
    CertKey live = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, {{KeyType::ecdsa_p256, live.private_pem(),
                         pki.chain_for(live, kSans, -3600, 86400 * 90, 1)}});
    EXPECT_FALSE(store.standby_version(kZone).has_value());
    EXPECT_TRUE(store.standby_all(kZone).empty());
    const auto before = snapshot(dir);

    CertKey sb = CertKey::generate(KeyType::ecdsa_p256);
    CertKey sb_rsa = CertKey::generate(KeyType::rsa_2048);
    store.store_standby(kZone, {{KeyType::ecdsa_p256, sb.private_pem(),
                                 pki.chain_for(sb, kSans, -3600, 86400 * 90, 2)},
                                {KeyType::rsa_2048, sb_rsa.private_pem(),
                                 pki.chain_for(sb_rsa, kSans, -3600, 86400 * 90, 3)}});
    EXPECT_EQ(fs::read_symlink(z / "standby"), ".v-2");
    EXPECT_EQ(store.standby_version(kZone), 2u);
    EXPECT_EQ(store.standby(kZone, KeyType::ecdsa_p256).value().serial_hex, "02");
    EXPECT_EQ(store.standby(kZone, KeyType::rsa_2048).value().serial_hex, "03");
    ASSERT_EQ(store.standby_all(kZone).size(), 2u);
    struct stat st {};
    ASSERT_EQ(::stat((z / ".v-2/rsa-2048/privkey.pem").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    // Every file, link and name of the live set as it was; nothing added but
    // the standby version and its link.
    const auto after = snapshot(dir);
    for (const auto& [path, content] : before) {
        const auto it = after.find(path);
        ASSERT_NE(it, after.end()) << path;
        EXPECT_EQ(it->second, content) << path;
    }
    for (const auto& [path, content] : after) {
        if (!before.contains(path)) {
            EXPECT_TRUE(path == "example.com/standby" || path.starts_with("example.com/.v-2"))
                << path;
        }
    }
    EXPECT_FALSE(fs::exists(z / "rsa-2048"));  // no name servers read points at it
    EXPECT_EQ(store.current_version(kZone), 1u);
    EXPECT_EQ(store.current(kZone).value().serial_hex, "01");
    EXPECT_FALSE(store.current(kZone, KeyType::rsa_2048).has_value());
    ASSERT_EQ(store.current_all(kZone).size(), 1u);
    EXPECT_FALSE(store.previous_version(kZone).has_value());
}

// Renewals of the live set keep the standby version (which is above `current`
// after a live renewal only when it was stored later; the rule that removes a
// crashed store's leftover above `current` must spare it), the standby is
// never the previous version, and a new standby replaces the old one.
TEST_F(CertStoreTest, PruningKeepsCurrentStandbyAndThePreviousLiveVersion) {
    CertStore store(dir);
    const fs::path z = dir / "example.com";
    auto store_live = [&](long serial) {
        CertKey k = CertKey::generate(KeyType::ecdsa_p256);
        store.store(kZone, {{KeyType::ecdsa_p256, k.private_pem(),
                             pki.chain_for(k, kSans, -3600, 86400 * 90, serial)}});
    };
    auto store_standby = [&](long serial) {
        CertKey k = CertKey::generate(KeyType::ecdsa_p256);
        store.store_standby(kZone, {{KeyType::ecdsa_p256, k.private_pem(),
                                     pki.chain_for(k, kSans, -3600, 86400 * 90, serial)}});
    };
    store_live(1);
    store_standby(2);
    store_live(3);  // .v-2 is above the `current` this store found
    EXPECT_TRUE(fs::exists(z / ".v-2/ecdsa-p256/fullchain.pem"));
    EXPECT_EQ(store.standby_version(kZone), 2u);
    EXPECT_EQ(store.previous_version(kZone), 1u);
    store_live(4);
    store_live(5);
    EXPECT_EQ(store.current_version(kZone), 5u);
    EXPECT_EQ(store.previous_version(kZone), 4u);
    EXPECT_EQ(store.standby(kZone, KeyType::ecdsa_p256).value().serial_hex, "02");
    std::set<std::string> left;
    for (const auto& e : fs::directory_iterator(z)) {
        if (e.path().filename().string().starts_with(".v-")) {
            left.insert(e.path().filename().string());
        }
    }
    EXPECT_EQ(left, (std::set<std::string>{".v-2", ".v-4", ".v-5"}));

    // A standby store that died before its switch left .v-6: the next store
    // (standby or live) removes it and keeps the standby it did not replace.
    fs::create_directory(z / ".v-6");
    write_file_atomic(z / ".v-6/privkey.pem", "half", 0600);
    store_live(7);
    EXPECT_FALSE(fs::exists(z / ".v-6"));
    EXPECT_EQ(store.standby_version(kZone), 2u);
    EXPECT_EQ(store.previous_version(kZone), 5u);
    EXPECT_FALSE(fs::exists(z / ".v-4"));

    // A new standby replaces the old one, which goes.
    store_standby(8);
    EXPECT_EQ(store.standby_version(kZone), 8u);
    EXPECT_FALSE(fs::exists(z / ".v-2"));
    EXPECT_EQ(store.current_version(kZone), 7u);
    EXPECT_EQ(store.previous_version(kZone), 5u);
    EXPECT_EQ(store.current(kZone).value().serial_hex, "07");
}

// The switch: one rename of `current`; the set that was live becomes the
// standby, so switching back needs no CA either.
TEST_F(CertStoreTest, SwitchToStandbyMakesItLiveAndTheLiveSetTheStandby) {
    CertStore store(dir);
    const fs::path z = dir / "example.com";
    EXPECT_THROW(store.switch_to_standby(kZone), std::runtime_error);  // no directory at all
    CertKey live = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, {{KeyType::ecdsa_p256, live.private_pem(),
                         pki.chain_for(live, kSans, -3600, 86400 * 90, 1)}});
    const auto unswitched = snapshot(dir);
    try {
        store.switch_to_standby(kZone);
        ADD_FAILURE() << "switched without a standby set";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("example.com: no standby set in"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(snapshot(dir), unswitched);

    CertKey sb = CertKey::generate(KeyType::ecdsa_p256);
    const std::string sb_chain = pki.chain_for(sb, kSans, -3600, 86400 * 90, 2);
    store.store_standby(kZone, {{KeyType::ecdsa_p256, sb.private_pem(), sb_chain}});
    EXPECT_EQ(store.switch_to_standby(kZone), 2u);
    EXPECT_EQ(fs::read_symlink(z / "current"), ".v-2");
    EXPECT_EQ(fs::read_symlink(z / "standby"), ".v-1");
    EXPECT_EQ(read_file(z / "privkey.pem"), sb.private_pem());
    EXPECT_EQ(read_file(z / "fullchain.pem"), sb_chain);
    EXPECT_EQ(read_file(z / "ecdsa-p256/fullchain.pem"), sb_chain);
    EXPECT_EQ(store.current(kZone).value().serial_hex, "02");
    EXPECT_EQ(store.standby(kZone, KeyType::ecdsa_p256).value().serial_hex, "01");
    EXPECT_EQ(store.standby_version(kZone), 1u);
    EXPECT_FALSE(store.previous_version(kZone).has_value());  // .v-1 is the standby

    // And back.
    EXPECT_EQ(store.switch_to_standby(kZone), 1u);
    EXPECT_EQ(read_file(z / "privkey.pem"), live.private_pem());
    EXPECT_EQ(store.standby(kZone, KeyType::ecdsa_p256).value().serial_hex, "02");

    // A switch that died between its two renames leaves both links on the
    // live set: that is no standby (a second switch would change nothing).
    fs::remove(z / "standby");
    fs::create_symlink(".v-1", z / "standby");
    EXPECT_FALSE(store.standby_version(kZone).has_value());
    EXPECT_FALSE(store.standby(kZone, KeyType::ecdsa_p256).has_value());
    EXPECT_TRUE(store.standby_all(kZone).empty());
    EXPECT_THROW(store.switch_to_standby(kZone), std::runtime_error);
}

TEST_F(CertStoreTest, SwitchingToAStandbyWithAnotherKeyTypeLinksItsNames) {
    CertStore store(dir);
    const fs::path z = dir / "example.com";
    CertKey ec = CertKey::generate(KeyType::ecdsa_p256);
    store.store(kZone, ec.private_pem(), pki.chain_for(ec, kSans));
    CertKey ec2 = CertKey::generate(KeyType::ecdsa_p256);
    CertKey rsa = CertKey::generate(KeyType::rsa_2048);
    store.store_standby(kZone, {{KeyType::ecdsa_p256, ec2.private_pem(), pki.chain_for(ec2, kSans)},
                                {KeyType::rsa_2048, rsa.private_pem(), pki.chain_for(rsa, kSans)}});
    EXPECT_FALSE(fs::exists(z / "rsa-2048"));
    store.switch_to_standby(kZone);
    EXPECT_EQ(fs::read_symlink(z / "rsa-2048"), "current/rsa-2048");
    EXPECT_EQ(read_file(z / "rsa-2048/privkey.pem"), rsa.private_pem());
    // The old live set, without key-type directories, is the standby now.
    EXPECT_TRUE(store.standby(kZone, KeyType::ecdsa_p256).has_value());
    EXPECT_FALSE(store.standby(kZone, KeyType::rsa_2048).has_value());
}

// Stores of one zone are serialised by a lock on the zone's directory itself
// (no lock file beside the versions): stores racing from many threads each
// write a complete version, and `current` ends on one of them, whole.
TEST_F(CertStoreTest, RacingStoresOfOneZoneEachCompleteWithNoLockFile) {
    CertStore store(dir);
    constexpr int kThreads = 6;
    constexpr int kEach = 4;
    std::vector<std::pair<std::string, std::string>> sets;  // key, chain
    for (int i = 0; i < kThreads; ++i) {
        CertKey key = CertKey::generate(KeyType::ecdsa_p256);
        sets.emplace_back(key.private_pem(), pki.chain_for(key, kSans));
    }
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            try {
                for (int k = 0; k < kEach; ++k) {
                    store.store(kZone, sets[i].first, sets[i].second);
                }
            } catch (const std::exception& e) {
                errors[i] = e.what();
            }
        });
    }
    for (std::thread& t : threads) {
        t.join();
    }
    for (int i = 0; i < kThreads; ++i) {
        EXPECT_EQ(errors[i], "") << "thread " << i;
    }
    const fs::path z = dir / "example.com";
    EXPECT_FALSE(fs::exists(fs::symlink_status(z / ".lock")));
    const std::string key = read_file(z / "privkey.pem");
    const std::string chain = read_file(z / "fullchain.pem");
    EXPECT_TRUE(std::find(sets.begin(), sets.end(), std::make_pair(key, chain)) != sets.end())
        << "the live key and chain are not one stored set";
    EXPECT_EQ(read_file(z / "cert.pem") + read_file(z / "chain.pem"), chain);
}
