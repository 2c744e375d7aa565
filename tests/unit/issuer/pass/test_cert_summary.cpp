// cert_summary: a zone's current certificates read once and then taken from
// the summary while the files are unchanged; read again when a new version
// is stored or a file is replaced; zone_status keeps the summary only when
// asked to (a pass), never for status.
#include "issuer/pass/cert_summary.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/file_io.h"
#include "issuer/pass/zone_status.h"
#include "tests/unit/issuer_test_pki.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::issuer {
namespace {

namespace fs = std::filesystem;
using test_support::TempDir;
using testing::TestPki;

const DnsName kZone = DnsName::parse("example.com");
const std::vector<std::string> kSans{"DNS:example.com", "DNS:*.example.com"};

struct Store {
    TempDir dir;
    TestPki pki;
    CertStore store{dir.path() / "certs"};
    CertKey ec = CertKey::generate(KeyType::ecdsa_p256);
    CertKey rsa = CertKey::generate(KeyType::rsa_2048);

    // Each certificate its own serial (ARI's certID is the issuer's key ID
    // and the serial).
    void one_type() { store.store(kZone, ec.private_pem(), chain(ec, 101)); }
    void two_types() {
        store.store(kZone, {{KeyType::ecdsa_p256, ec.private_pem(), chain(ec, 102)},
                            {KeyType::rsa_2048, rsa.private_pem(), chain(rsa, 103)}});
    }
    std::string chain(const CertKey& key, long serial) const {
        return pki.chain_for(key, kSans, -3600, 90 * 86400, serial);
    }
};

// No version: nothing parsed, so nothing worth writing the state for, unless
// a summary of a version is there to be replaced.
TEST(CertSummary, NoVersionIsAnEmptySummaryNotKept) {
    Store s;
    const CurrentRead first = read_current(s.store, kZone, std::nullopt);
    EXPECT_TRUE(first.from_cache);
    EXPECT_FALSE(first.keep);
    EXPECT_TRUE(first.summary.version.empty());
    EXPECT_TRUE(first.summary.certs.empty());
    EXPECT_FALSE(first.summary.top);
    const CurrentRead again = read_current(s.store, kZone, first.summary);
    EXPECT_TRUE(again.from_cache);
    EXPECT_FALSE(again.keep);

    s.one_type();
    const CurrentRead one = read_current(s.store, kZone, std::nullopt);
    ASSERT_TRUE(one.keep);
    fs::remove(s.store.zone_dir(kZone) / "current");  // the version gone: its summary goes
    const CurrentRead gone = read_current(s.store, kZone, one.summary);
    EXPECT_FALSE(gone.from_cache);
    EXPECT_TRUE(gone.keep);
    EXPECT_TRUE(gone.summary.version.empty());
}

TEST(CertSummary, ReadOnceThenFromTheSummaryUntilANewVersion) {
    Store s;
    s.one_type();
    const CurrentRead first = read_current(s.store, kZone, std::nullopt);
    ASSERT_FALSE(first.from_cache);
    ASSERT_TRUE(first.keep);
    EXPECT_EQ(first.summary.version, ".v-1");
    ASSERT_EQ(first.summary.certs.size(), 1u);
    const CertSummary& c = first.summary.certs.front();
    EXPECT_EQ(c.file, "fullchain.pem");
    EXPECT_TRUE(c.top_level);
    EXPECT_EQ(c.type, KeyType::ecdsa_p256);
    EXPECT_EQ(c.info.dns_names, (std::vector<std::string>{"*.example.com", "example.com"}));
    ASSERT_TRUE(c.scts.has_value());  // the test PKI embeds none
    EXPECT_TRUE(c.scts->empty());
    ASSERT_TRUE(first.summary.top);
    EXPECT_EQ(first.summary.top->serial_hex, c.info.serial_hex);

    // Through its JSON, as the state file keeps it.
    const auto kept = current_summary_from_json(to_json(first.summary));
    ASSERT_TRUE(kept);
    const CurrentRead hit = read_current(s.store, kZone, kept);
    EXPECT_TRUE(hit.from_cache);
    EXPECT_FALSE(hit.keep);
    EXPECT_EQ(hit.summary.certs.front().info.serial_hex, c.info.serial_hex);
    EXPECT_EQ(hit.summary.certs.front().info.not_after, c.info.not_after);
    EXPECT_EQ(hit.summary.certs.front().cert_id, c.cert_id);

    s.two_types();  // a new version
    const CurrentRead next = read_current(s.store, kZone, kept);
    EXPECT_FALSE(next.from_cache);
    EXPECT_TRUE(next.keep);
    EXPECT_EQ(next.summary.version, ".v-2");
    ASSERT_EQ(next.summary.certs.size(), 2u);
    EXPECT_EQ(next.summary.certs[0].file, "ecdsa-p256/fullchain.pem");
    EXPECT_EQ(next.summary.certs[1].file, "rsa-2048/fullchain.pem");
    EXPECT_NE(next.summary.certs[1].info.serial_hex, c.info.serial_hex);
    ASSERT_TRUE(next.summary.top_stamp);
    EXPECT_TRUE(read_current(s.store, kZone, next.summary).from_cache);
}

// The top-level cert.pem is the first key type's (one inode, cert_store.h):
// its facts are that type's, taken without parsing it again (here the shared
// file is made unparseable in place: a parse would throw).
TEST(CertSummary, TheTopLevelCertificateIsTheLinkedKeyTypesWithoutAParse) {
    Store s;
    s.two_types();
    const fs::path cert = s.store.zone_dir(kZone) / "current" / "cert.pem";
    {
        std::ofstream out(cert, std::ios::trunc);  // same inode, new bytes
        out << "not a certificate\n";
    }
    const CurrentRead r = read_current(s.store, kZone, std::nullopt);
    ASSERT_TRUE(r.summary.top);
    ASSERT_EQ(r.summary.certs.size(), 2u);
    EXPECT_EQ(r.summary.top->serial_hex, r.summary.certs[0].info.serial_hex);
    EXPECT_EQ(r.summary.certs[0].type, KeyType::ecdsa_p256);
    EXPECT_TRUE(r.keep);
    ASSERT_TRUE(r.summary.top_stamp);
    EXPECT_EQ(*r.summary.top_stamp, *file_stamp(cert));
}

// The summary names the version; a file of that version replaced all the
// same (by hand: the store never does) is read again.
TEST(CertSummary, AFileReplacedUnderTheSameVersionIsReadAgain) {
    Store s;
    s.two_types();
    const CurrentRead first = read_current(s.store, kZone, std::nullopt);
    ASSERT_TRUE(first.keep);
    const fs::path rsa_chain = s.store.zone_dir(kZone) / "current" / "rsa-2048" / "fullchain.pem";
    const std::string other = s.chain(s.rsa, 104);
    fs::remove(rsa_chain);
    write_file_atomic(rsa_chain, other, 0644);
    const CurrentRead again = read_current(s.store, kZone, first.summary);
    EXPECT_FALSE(again.from_cache);
    EXPECT_NE(again.summary.certs[1].info.serial_hex, first.summary.certs[1].info.serial_hex);

    const fs::path top = s.store.zone_dir(kZone) / "current" / "cert.pem";
    const std::string leaf = read_file(top);
    fs::remove(top);
    write_file_atomic(top, leaf, 0644);  // same bytes, another file
    EXPECT_FALSE(read_current(s.store, kZone, again.summary).from_cache);
}

TEST(CertSummary, WhatIsNotASummaryIsNotUsed) {
    EXPECT_FALSE(current_summary_from_json(Json::Value("x")));
    Json::Value j(Json::objectValue);
    j["version"] = ".v-1";
    EXPECT_FALSE(current_summary_from_json(j));  // no certs
    j["certs"] = Json::Value(Json::arrayValue);
    EXPECT_TRUE(current_summary_from_json(j));
    j["certs"].append(Json::Value(Json::objectValue));
    EXPECT_FALSE(current_summary_from_json(j));
}

IssuerConfig config_for(const Store& s) {
    IssuerConfig c;
    c.certs_dir = s.store.dir();
    c.state_dir = s.dir.path() / "state";
    return c;
}

// status reads only; a pass keeps the summary, once.
TEST(CertSummary, ZoneStatusKeepsTheSummaryOnlyWhenAsked) {
    Store s;
    s.one_type();
    const IssuerConfig config = config_for(s);
    const ZoneStateStore states(config.state_dir);
    const SysTime now = std::chrono::system_clock::now();

    const ZoneStatus read_only = zone_status(config, kZone, now);
    EXPECT_EQ(read_only.state, CertState::valid);
    EXPECT_FALSE(fs::exists(states.file(kZone)));

    const ZoneStatus kept = zone_status(config, kZone, now, SummaryUse::read_and_keep);
    EXPECT_EQ(kept.state, CertState::valid);
    ASSERT_TRUE(fs::exists(states.file(kZone)));
    const ZoneState saved = states.load(kZone);
    ASSERT_TRUE(saved.current);
    EXPECT_EQ(saved.current->version, ".v-1");

    const auto written = fs::last_write_time(states.file(kZone));
    const ZoneStatus again = zone_status(config, kZone, now, SummaryUse::read_and_keep);
    EXPECT_EQ(again.state, CertState::valid);
    EXPECT_EQ(again.cert->serial_hex, kept.cert->serial_hex);
    EXPECT_EQ(fs::last_write_time(states.file(kZone)), written);  // a hit writes nothing
}

// A pass over a zone never issued writes no state file for it.
TEST(CertSummary, ZoneStatusWritesNoStateForAZoneWithoutCertificates) {
    Store s;
    const IssuerConfig config = config_for(s);
    const ZoneStatus st =
        zone_status(config, kZone, std::chrono::system_clock::now(), SummaryUse::read_and_keep);
    EXPECT_EQ(st.state, CertState::missing);
    EXPECT_FALSE(fs::exists(ZoneStateStore(config.state_dir).file(kZone)));
}

// What a pass keeps after storing (CertStore::take_stored, summary_of_stored)
// is what read_current() would read back from the files: one type, two types
// in the order their directories are listed (not stored), the top's stamp.
TEST(CertSummary, TheStoredSetSummarisedAsReadingItBackWould) {
    for (const bool two : {false, true}) {
        SCOPED_TRACE(two ? "two types" : "one type");
        Store s;
        if (two) {
            s.store.store(kZone, {{KeyType::rsa_2048, s.rsa.private_pem(), s.chain(s.rsa, 104)},
                                  {KeyType::ecdsa_p256, s.ec.private_pem(), s.chain(s.ec, 105)}});
        } else {
            s.one_type();
        }
        const auto stored = CertStore::take_stored(s.store.zone_dir(kZone));
        ASSERT_TRUE(stored);
        EXPECT_FALSE(CertStore::take_stored(s.store.zone_dir(kZone)));  // taken once
        const auto made = summary_of_stored(*stored, kZone);
        ASSERT_TRUE(made);
        const CurrentRead read = read_current(s.store, kZone, std::nullopt);
        ASSERT_TRUE(read.keep);
        EXPECT_EQ(to_json(*made).toStyledString(), to_json(read.summary).toStyledString());
        EXPECT_TRUE(read_current(s.store, kZone, made).from_cache);  // it describes the files
    }
}

// The hand-off is for the zone stored, and stale once `current` moved on.
TEST(CertSummary, AStoredSetOfAnotherZoneOrReplacedSinceIsNotUsed) {
    Store s;
    s.one_type();
    EXPECT_FALSE(CertStore::take_stored(s.store.zone_dir(DnsName::parse("other.org"))));
    EXPECT_FALSE(CertStore::take_stored(s.store.zone_dir(kZone)));  // dropped by the miss
    s.one_type();
    const auto first = CertStore::take_stored(s.store.zone_dir(kZone));
    ASSERT_TRUE(first);
    s.two_types();
    EXPECT_FALSE(summary_of_stored(*first, kZone));  // `current` names a newer version
    const auto standby_before = CertStore::take_stored(s.store.zone_dir(kZone));
    ASSERT_TRUE(standby_before);
    s.store.store_standby(kZone, {{KeyType::ecdsa_p256, s.ec.private_pem(), s.chain(s.ec, 106)}});
    EXPECT_FALSE(CertStore::take_stored(s.store.zone_dir(kZone)));  // not the live set
}

}  // namespace
}  // namespace acmezone::issuer
