// ChallengeStore's table layout: empty non-terminals as names come and go,
// the earliest-expiry marks that let the purge skip what cannot have
// expired, the snapshot file (written in pieces, the format unchanged), and
// what a value costs in memory (glibc's mallinfo2(), as case 4 of the bench
// loads the store).
#include <malloc.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/file_io.h"
#include "plugin/challenge_store.h"
#include "plugin/store_journal.h"
#include "tests/unit/temp_dir.h"

namespace acmezone::plugin {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

DnsName N(const std::string& text) {
    return DnsName::parse(text);
}

std::vector<TxtValue> one(const std::string& data, Clock::time_point expires) {
    return {TxtValue{{data}, expires}};
}

using test_support::TempDir;

// ---- empty non-terminals ----------------------------------------------------

TEST(StoreLayout, EmptyNonTerminalsFollowEveryAddAndRemoval) {
    const auto later = Clock::now() + 1h;
    Snapshot s;
    s.set(N("a.b.z.example.com"), one("1", later));
    s.set(N("c.b.z.example.com"), one("2", later));
    s.set(N("b.z.example.com"), one("3", later));  // a name with values and names below
    s.set(N("x.z.example.com"), one("4", later));
    // Ancestors: b.z (2 below), z (4), example.com (4), com (4), the root (4).
    EXPECT_EQ(s.ancestor_count(), 5u);
    EXPECT_TRUE(s.has_descendants(N("b.z.example.com")));
    EXPECT_TRUE(s.has_descendants(N("z.example.com")));
    EXPECT_TRUE(s.has_descendants(N("com")));
    EXPECT_TRUE(s.has_descendants(DnsName()));
    for (const char* none : {"a.b.z.example.com", "x.z.example.com", "y.z.example.com",
                             "b.example.com", "z.example.org", "zz.example.com"}) {
        EXPECT_FALSE(s.has_descendants(N(none))) << none;
    }

    s.set(N("b.z.example.com"), {});  // its own values go; it stays a non-terminal
    EXPECT_EQ(s.find(N("b.z.example.com")), nullptr);
    EXPECT_TRUE(s.has_descendants(N("b.z.example.com")));
    s.set(N("a.b.z.example.com"), {});
    EXPECT_TRUE(s.has_descendants(N("b.z.example.com")));  // c.b.z is still below
    s.set(N("c.b.z.example.com"), {});
    EXPECT_FALSE(s.has_descendants(N("b.z.example.com")));
    EXPECT_TRUE(s.has_descendants(N("z.example.com")));  // x.z
    EXPECT_EQ(s.ancestor_count(), 4u);

    s.set(N("x.z.example.com"), one("5", later));  // replacing keeps the counts
    EXPECT_EQ(s.ancestor_count(), 4u);
    s.set(N("x.z.example.com"), {});
    EXPECT_FALSE(s.has_descendants(N("z.example.com")));
    EXPECT_FALSE(s.has_descendants(DnsName()));
    EXPECT_EQ(s.ancestor_count(), 0u);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_EQ(s.value_count(), 0u);
    s.set(N("x.z.example.com"), {});  // removing what is not there changes nothing
    EXPECT_EQ(s.ancestor_count(), 0u);
}

TEST(StoreLayout, NonTerminalsOutliveTheNameTheirTextCameFrom) {
    // An ancestor's entry takes its text from the first name below it; that
    // name's values replaced, then the name removed, the others still count.
    const auto later = Clock::now() + 1h;
    Snapshot s;
    s.set(N("_acme-challenge.a.x.test"), one("1", later));
    s.set(N("_acme-challenge.b.x.test"), one("2", later));
    Snapshot before(s);
    s.set(N("_acme-challenge.a.x.test"), one("replaced", later));
    EXPECT_TRUE(s.has_descendants(N("a.x.test")));
    EXPECT_TRUE(s.has_descendants(N("x.test")));
    s.set(N("_acme-challenge.a.x.test"), {});
    EXPECT_FALSE(s.has_descendants(N("a.x.test")));
    for (const char* name : {"b.x.test", "x.test", "test"}) {
        EXPECT_TRUE(s.has_descendants(N(name))) << name;
    }
    EXPECT_TRUE(s.has_descendants(DnsName()));
    EXPECT_FALSE(s.has_descendants(N("y.test")));
    EXPECT_EQ(s.ancestor_count(), 4u);  // b.x.test, x.test, test, the root
    // The copy taken before is untouched.
    EXPECT_TRUE(before.has_descendants(N("a.x.test")));
    EXPECT_EQ(before.ancestor_count(), 5u);
    EXPECT_EQ(before.find(N("_acme-challenge.a.x.test"))->front().data, TxtData{"1"});
    s.set(N("_acme-challenge.b.x.test"), {});
    EXPECT_EQ(s.ancestor_count(), 0u);
    EXPECT_FALSE(s.has_descendants(N("x.test")));
    EXPECT_TRUE(before.has_descendants(N("x.test")));
}

TEST(StoreLayout, ACopyKeepsItsOwnNonTerminalCounts) {
    const auto later = Clock::now() + 1h;
    Snapshot a;
    for (int i = 0; i < 300; ++i) {
        a.set(N("_acme-challenge.m" + std::to_string(i) + ".z.example.com"), one("v", later));
    }
    Snapshot b(a);
    for (int i = 0; i < 300; ++i) {
        b.set(N("_acme-challenge.m" + std::to_string(i) + ".z.example.com"), {});
    }
    EXPECT_EQ(b.ancestor_count(), 0u);
    EXPECT_FALSE(b.has_descendants(N("z.example.com")));
    EXPECT_EQ(a.ancestor_count(), 300u + 4u);
    EXPECT_TRUE(a.has_descendants(N("m299.z.example.com")));
    EXPECT_TRUE(a.has_descendants(N("z.example.com")));
}

TEST(StoreLayout, ValuesComeBackExactly) {
    // Expiries to the clock tick, strings with any octet, empty strings.
    const auto t = Clock::now() + 1h + 123ns;
    Snapshot s;
    std::vector<TxtValue> values{{{"a", std::string("\0\xff", 2), ""}, t},
                                 {{std::string(255, 'x')}, t + 1ns}};
    s.set(N("n.example.com"), values);
    auto got = s.find(N("n.example.com"));
    ASSERT_NE(got, nullptr);
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[0].data, values[0].data);
    EXPECT_EQ((*got)[0].expires, t);
    EXPECT_EQ((*got)[1].data, values[1].data);
    EXPECT_EQ((*got)[1].expires, t + 1ns);
    EXPECT_EQ(s.values_at(N("n.example.com"), t).size(), 1u);  // the first expires at t
    EXPECT_EQ(s.earliest_expiry(), t);
}

// ---- expiry -------------------------------------------------------------------

TEST(StoreLayout, FindingExpiredNamesReadsOnlyBucketsWhereSomethingExpired) {
    const auto t0 = Clock::now();
    Snapshot s;
    for (int i = 0; i < 5000; ++i) {
        s.set(N("_acme-challenge.m" + std::to_string(i) + ".example.com"), one("v", t0 + 1h));
    }
    s.set(N("_acme-challenge.soon.example.com"), one("v", t0 + 1min));
    EXPECT_EQ(s.earliest_expiry(), t0 + 1min);

    std::size_t read = 0;
    EXPECT_TRUE(s.expired_names(t0 + 30s, &read).empty());
    EXPECT_EQ(read, 0u);

    read = 0;
    auto expired = s.expired_names(t0 + 1min, &read);
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired[0].text(), "_acme-challenge.soon.example.com");
    EXPECT_EQ(read, 1u);

    s.set(N("_acme-challenge.soon.example.com"), {});
    EXPECT_EQ(s.earliest_expiry(), t0 + 1h);
    read = 0;
    EXPECT_TRUE(s.expired_names(t0 + 1min, &read).empty());
    EXPECT_EQ(read, 0u);

    read = 0;
    EXPECT_EQ(s.expired_names(t0 + 1h, &read).size(), 5000u);
    EXPECT_GT(read, 1000u);
}

TEST(StoreLayout, ThePurgeRemovesExactlyWhatExpired) {
    StoreOptions o;
    o.max_values = 10000;
    o.lifetime = 600s;
    ChallengeStore store(o);
    const auto t0 = Clock::now();
    std::vector<Change> early;
    for (int i = 0; i < 200; ++i) {
        early.push_back(
            {Change::Op::add, N("_acme-challenge.e" + std::to_string(i) + ".x.test"), {"v"}});
    }
    ASSERT_EQ(store.apply({}, early, t0).rcode, 0);
    ASSERT_EQ(
        store.apply({}, {{Change::Op::add, N("_acme-challenge.late.x.test"), {"v"}}}, t0 + 100s)
            .rcode,
        0);
    const auto before = store.snapshot();
    store.purge_expired(t0 + 599s);  // nothing expired: nothing published
    EXPECT_EQ(store.snapshot(), before);
    store.purge_expired(t0 + 600s);
    const auto after = store.snapshot();
    EXPECT_EQ(after->size(), 1u);
    EXPECT_NE(after->find(N("_acme-challenge.late.x.test")), nullptr);
    EXPECT_TRUE(after->has_descendants(N("late.x.test")));
    EXPECT_FALSE(after->has_descendants(N("e0.x.test")));
    EXPECT_EQ(after->ancestor_count(), 4u);  // late.x.test, x.test, test, the root
    EXPECT_GT(after->serial, before->serial);
}

// ---- the snapshot file ---------------------------------------------------------

TEST(StoreLayout, TheSnapshotFileKeepsItsFormat) {
    // Written in pieces, it is byte for byte "ACMEZS2\n" + one frame of
    // record format version 1 whose length field is 64 bits wide (version 1
    // of the file, "ACMEZS1\n" with a 32-bit length, is still read: see
    // AStateDirectoryOfTheEarlierLayoutIsReadBack).
    const auto t = Clock::time_point(std::chrono::microseconds(1'800'000'000'123'456));
    Snapshot s;
    s.serial = 77;
    s.set(N("_acme-challenge.a.example.com"), {{{"one"}, t}, {{"two", "parts"}, t + 1s}});
    s.set(N("_acme-challenge.b.example.com"), one(std::string(200, 'b'), t));
    store_journal::Record want;
    want.serial = 77;
    s.for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
        want.names.push_back({name, values});
    });
    const std::string expected =
        "ACMEZS2\n" + std::string(4, '\0') + store_journal::encode_frame(want);
    EXPECT_EQ(store_journal::encode_snapshot(s), expected);

    TempDir tmp("layout");
    store_journal::write_snapshot_file(tmp.path() / "snapshot", s);
    EXPECT_EQ(read_file(tmp.path() / "snapshot"), expected);
    EXPECT_EQ(fs::status(tmp.path() / "snapshot").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    std::set<std::string> names;
    const std::uint32_t serial = store_journal::load_snapshot_file(
        tmp.path() / "snapshot", [&](store_journal::NameState&& ns) {
            names.insert(ns.name.text());
            if (ns.name.text() == "_acme-challenge.a.example.com") {
                ASSERT_EQ(ns.values.size(), 2u);
                EXPECT_EQ(ns.values[1].data, (TxtData{"two", "parts"}));
                EXPECT_EQ(ns.values[1].expires, t + 1s);
            }
        });
    EXPECT_EQ(serial, 77u);
    EXPECT_EQ(names, (std::set<std::string>{"_acme-challenge.a.example.com",
                                            "_acme-challenge.b.example.com"}));
}

TEST(StoreLayout, AStateDirectoryOfTheEarlierLayoutIsReadBack) {
    // A snapshot file and journal as the store wrote them before its table
    // changed (built here with the journal's own encoder).
    TempDir tmp("layout");
    const auto later = Clock::time_point(
        std::chrono::floor<std::chrono::microseconds>((Clock::now() + 1h).time_since_epoch()));
    store_journal::Record snap;
    snap.serial = 5;
    snap.names.push_back({N("_acme-challenge.a.example.com"), {{{"a1"}, later}}});
    snap.names.push_back({N("_acme-challenge.b.example.com"), {{{"b1"}, later}}});
    {
        std::ofstream(tmp.path() / "snapshot", std::ios::binary)
            << "ACMEZS1\n" + store_journal::encode_frame(snap);
        store_journal::Record r;
        r.serial = 6;
        r.names.push_back({N("_acme-challenge.b.example.com"), {}});
        r.names.push_back({N("_acme-challenge.c.example.com"), {{{"c1", "c2"}, later}}});
        std::ofstream(tmp.path() / "journal", std::ios::binary) << store_journal::encode_frame(r);
    }
    fs::permissions(tmp.path(), fs::perms::owner_all);
    StoreOptions o;
    o.state_dir = tmp.path();
    ChallengeStore store(o);
    auto s = store.snapshot();
    EXPECT_GT(s->serial, 6u);
    EXPECT_EQ(s->size(), 2u);
    auto a = s->values_at(N("_acme-challenge.a.example.com"), Clock::now());
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].data, TxtData{"a1"});
    EXPECT_EQ(a[0].expires, later);
    EXPECT_EQ(s->find(N("_acme-challenge.b.example.com")), nullptr);
    auto c = s->values_at(N("_acme-challenge.c.example.com"), Clock::now());
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].data, (TxtData{"c1", "c2"}));
    EXPECT_TRUE(s->has_descendants(N("c.example.com")));
    EXPECT_FALSE(s->has_descendants(N("b.example.com")));
}

TEST(StoreLayout, CrcCanBeComputedInPieces) {
    const std::string all = "123456789";
    EXPECT_EQ(store_journal::crc32(all.substr(4), store_journal::crc32(all.substr(0, 4))),
              store_journal::crc32(all));
}

// ---- memory ----------------------------------------------------------------------

#if defined(__SANITIZE_ADDRESS__)
#define ACMEZONE_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ACMEZONE_UNDER_ASAN 1
#endif
#endif

TEST(StoreLayout, AValueCostsLittleMemory) {
#ifdef ACMEZONE_UNDER_ASAN
    GTEST_SKIP() << "the sanitizer's allocator is not glibc's";
#else
    // Names and values as case 4 of the bench loads them, one UPDATE of 4
    // names at a time; octets in use by glibc's count (mallinfo2().uordblks)
    // per value, the store's snapshots dropped except the newest.
    constexpr int kValues = 100000;
    StoreOptions o;
    o.max_values = kValues + 10;
    std::size_t in_use = 0;
    {
        const std::size_t before = mallinfo2().uordblks;
        ChallengeStore store(o);
        char name[64];
        char value[64];
        for (int i = 0; i < kValues; i += 4) {
            std::vector<Change> changes;
            for (int j = i; j < i + 4; ++j) {
                std::snprintf(name, sizeof name, "_acme-challenge.m%06d.z1.bench.test", j);
                std::snprintf(value, sizeof value, "Xq0s3vM1o9pYbXkzJ4aH2uQ7fLr8tWcD5eGi-%06d", j);
                changes.push_back({Change::Op::add, N(name), {value}});
            }
            ASSERT_EQ(store.apply({}, changes).rcode, 0);
        }
        in_use = mallinfo2().uordblks - before;
        EXPECT_EQ(store.snapshot()->value_count(), static_cast<std::size_t>(kValues));
    }
    const double per_value = static_cast<double>(in_use) / kValues;
    std::printf("[ measured ] %zu octets in use for %d values: %.1f per value\n", in_use, kValues,
                per_value);
    // With glibc's chunks: 128 for the name's 107-octet block, 8 for its
    // entry, 24 for its parent's entry in the non-terminal table (its text
    // is the name's), and the buckets' room: about 165 (jemalloc, in named,
    // puts the block in its 112-octet class). The table before this layout
    // took 367.
    EXPECT_LT(per_value, 180.0);
#endif
}

}  // namespace
}  // namespace acmezone::plugin
