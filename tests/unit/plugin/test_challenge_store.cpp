// ChallengeStore: the model (prerequisites, changes, limits, expiry) and its
// durability (journal, snapshot, torn records, group commit, failed writes).
// Real files in a fresh temporary directory; the only fault injected is a
// file-size limit (RLIMIT_FSIZE), which makes the kernel refuse the write
// exactly as a full disk would.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "plugin/challenge_store.h"
#include "plugin/store_journal.h"

namespace acmezone::plugin {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

DnsName N(const char* text) {
    return DnsName::parse(text);
}

Change add(const char* name, std::string value) {
    return {Change::Op::add, N(name), {std::move(value)}};
}
Change del(const char* name, std::string value) {
    return {Change::Op::delete_value, N(name), {std::move(value)}};
}

std::set<std::string> values(const ChallengeStore& s, const char* name,
                             Clock::time_point now = Clock::now()) {
    std::set<std::string> out;
    for (const TxtValue& v : s.snapshot()->values_at(N(name), now)) {
        std::string joined;
        for (const auto& part : v.data) {
            joined += part;
        }
        out.insert(joined);
    }
    return out;
}

constexpr const char* kName = "_acme-challenge.example.com";

class TempDir {
  public:
    TempDir() {
        std::string templ = (fs::temp_directory_path() / "acmezone-store-XXXXXX").string();
        char* made = ::mkdtemp(templ.data());
        if (made == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = made;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

StoreOptions memory_options() {
    StoreOptions o;
    o.lifetime = 600s;
    o.max_values_per_name = 4;
    o.max_values = 10;
    return o;
}

// ---- the model -------------------------------------------------------------

TEST(ChallengeStoreModel, TwoValuesAtOneNameAreBothServed) {
    ChallengeStore s(memory_options());
    auto r = s.apply({}, {add(kName, "apex-token"), add(kName, "wildcard-token")});
    ASSERT_EQ(r.rcode, 0) << r.detail;
    EXPECT_EQ(values(s, kName), (std::set<std::string>{"apex-token", "wildcard-token"}));
    EXPECT_EQ(r.changed, std::vector<DnsName>{N(kName)});
    EXPECT_EQ(r.serial, s.snapshot()->serial);
}

TEST(ChallengeStoreModel, DeleteOneValueKeepsTheOther) {
    ChallengeStore s(memory_options());
    ASSERT_EQ(s.apply({}, {add(kName, "a"), add(kName, "b")}).rcode, 0);
    ASSERT_EQ(s.apply({}, {del(kName, "a")}).rcode, 0);
    EXPECT_EQ(values(s, kName), std::set<std::string>{"b"});
}

TEST(ChallengeStoreModel, DeleteTxtAndDeleteNameEmptyTheName) {
    ChallengeStore s(memory_options());
    ASSERT_EQ(s.apply({}, {add(kName, "a"), add(kName, "b")}).rcode, 0);
    ASSERT_EQ(s.apply({}, {{Change::Op::delete_txt, N(kName), {}}}).rcode, 0);
    EXPECT_TRUE(values(s, kName).empty());
    EXPECT_EQ(s.snapshot()->find(N(kName)), nullptr);
    ASSERT_EQ(s.apply({}, {add(kName, "c")}).rcode, 0);
    ASSERT_EQ(s.apply({}, {{Change::Op::delete_name, N(kName), {}}}).rcode, 0);
    EXPECT_TRUE(values(s, kName).empty());
}

TEST(ChallengeStoreModel, MultiStringValuesAreKeptWhole) {
    ChallengeStore s(memory_options());
    TxtData data{"part one", "part \"two\""};
    ASSERT_EQ(s.apply({}, {{Change::Op::add, N(kName), data}}).rcode, 0);
    auto got = s.snapshot()->values_at(N(kName), Clock::now());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, data);
}

TEST(ChallengeStoreModel, BadTxtDataIsFormerrAndChangesNothing) {
    ChallengeStore s(memory_options());
    auto before = s.snapshot();
    auto r =
        s.apply({}, {add(kName, "fine"), {Change::Op::add, N(kName), {std::string(256, 'x')}}});
    EXPECT_EQ(r.rcode, 1);
    EXPECT_NE(r.detail.find("255"), std::string::npos) << r.detail;
    EXPECT_EQ(s.snapshot(), before);
    r = s.apply({}, {{Change::Op::add, N(kName), {}}});
    EXPECT_EQ(r.rcode, 1);
    EXPECT_EQ(s.snapshot(), before);
}

TEST(ChallengeStoreModel, NoOpChangeKeepsTheSerial) {
    ChallengeStore s(memory_options());
    auto serial = s.snapshot()->serial;
    auto r = s.apply({}, {del(kName, "not-there")});
    EXPECT_EQ(r.rcode, 0);
    EXPECT_TRUE(r.changed.empty());
    EXPECT_EQ(s.snapshot()->serial, serial);
}

TEST(ChallengeStoreModel, AddingAnExistingValueRenewsIt) {
    ChallengeStore s(memory_options());
    auto t0 = Clock::now();
    ASSERT_EQ(s.apply({}, {add(kName, "v")}, t0).rcode, 0);
    auto r = s.apply({}, {add(kName, "v")}, t0 + 500s);
    ASSERT_EQ(r.rcode, 0);
    EXPECT_TRUE(r.changed.empty());  // same content, later expiry
    auto got = s.snapshot()->values_at(N(kName), t0 + 500s);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_GE(got[0].expires, t0 + 1099s);
    EXPECT_EQ(values(s, kName, t0 + 700s), std::set<std::string>{"v"});  // would have expired
    EXPECT_TRUE(values(s, kName, t0 + 1101s).empty());
}

TEST(ChallengeStoreModel, ExpiredValuesAreNeverServedAndArePurged) {
    ChallengeStore s(memory_options());
    auto t0 = Clock::now();
    ASSERT_EQ(s.apply({}, {add(kName, "old")}, t0).rcode, 0);
    ASSERT_EQ(s.apply({}, {add(kName, "new")}, t0 + 300s).rcode, 0);
    EXPECT_EQ(values(s, kName, t0 + 601s), std::set<std::string>{"new"});
    EXPECT_EQ(s.snapshot()->find(N(kName))->size(), 2u);  // not purged yet
    auto serial = s.snapshot()->serial;
    s.purge_expired(t0 + 601s);
    EXPECT_EQ(s.snapshot()->find(N(kName))->size(), 1u);
    EXPECT_GT(s.snapshot()->serial, serial);
    s.purge_expired(t0 + 901s);
    EXPECT_EQ(s.snapshot()->find(N(kName)), nullptr);
    EXPECT_EQ(s.snapshot()->value_count(), 0u);
    auto after = s.snapshot();
    s.purge_expired(t0 + 902s);  // nothing expired: nothing published
    EXPECT_EQ(s.snapshot(), after);
}

TEST(ChallengeStoreModel, ExpiredValuesDoNotCountTowardsTheLimit) {
    ChallengeStore s(memory_options());
    auto t0 = Clock::now();
    ASSERT_EQ(
        s.apply({}, {add(kName, "1"), add(kName, "2"), add(kName, "3"), add(kName, "4")}, t0).rcode,
        0);
    EXPECT_EQ(s.apply({}, {add(kName, "5")}, t0 + 601s).rcode, 0);
}

// ---- prerequisites -----------------------------------------------------------

struct PrereqCase {
    Prerequisite::Kind kind;
    bool with_value;            // the name holds "v" before the update
    std::vector<TxtData> want;  // for txt_equals
    std::uint8_t rcode;         // expected answer
};

class Prerequisites : public ::testing::TestWithParam<PrereqCase> {};

TEST_P(Prerequisites, AreCheckedBeforeAnyChange) {
    const auto& c = GetParam();
    ChallengeStore s(memory_options());
    if (c.with_value) {
        ASSERT_EQ(s.apply({}, {add(kName, "v")}).rcode, 0);
    }
    auto before = s.snapshot();
    auto r = s.apply({{c.kind, N(kName), c.want}}, {add(kName, "added")});
    EXPECT_EQ(r.rcode, c.rcode) << r.detail;
    if (c.rcode == 0) {
        EXPECT_TRUE(values(s, kName).contains("added"));
    } else {
        EXPECT_EQ(s.snapshot(), before) << "a failed prerequisite must change nothing";
        EXPECT_NE(r.detail.find("prerequisite"), std::string::npos) << r.detail;
    }
}

using K = Prerequisite::Kind;
INSTANTIATE_TEST_SUITE_P(EachKind, Prerequisites,
                         ::testing::Values(PrereqCase{K::name_in_use, true, {}, 0},
                                           PrereqCase{K::name_in_use, false, {}, 3},  // NXDOMAIN
                                           PrereqCase{K::name_not_in_use, false, {}, 0},
                                           PrereqCase{K::name_not_in_use, true, {}, 6},  // YXDOMAIN
                                           PrereqCase{K::txt_exists, true, {}, 0},
                                           PrereqCase{K::txt_exists, false, {}, 8},  // NXRRSET
                                           PrereqCase{K::txt_not_exists, false, {}, 0},
                                           PrereqCase{K::txt_not_exists, true, {}, 7},  // YXRRSET
                                           PrereqCase{K::txt_equals, true, {{"v"}}, 0},
                                           PrereqCase{K::txt_equals, true, {{"other"}}, 8},
                                           PrereqCase{K::txt_equals, true, {{"v"}, {"more"}}, 8},
                                           PrereqCase{K::txt_equals, false, {{"v"}}, 8}));

TEST(ChallengeStorePrerequisites, ExpiredValuesDoNotSatisfyThem) {
    ChallengeStore s(memory_options());
    auto t0 = Clock::now();
    ASSERT_EQ(s.apply({}, {add(kName, "v")}, t0).rcode, 0);
    auto r = s.apply({{K::txt_exists, N(kName), {}}}, {add(kName, "x")}, t0 + 601s);
    EXPECT_EQ(r.rcode, 8);
}

// ---- limits: whole or nothing ------------------------------------------------

TEST(ChallengeStoreLimits, PerNameLimitRefusesTheWholeUpdate) {
    ChallengeStore s(memory_options());  // 4 per name
    ASSERT_EQ(s.apply({}, {add(kName, "1"), add(kName, "2"), add(kName, "3")}).rcode, 0);
    auto before = s.snapshot();
    auto r = s.apply({}, {add("_acme-challenge.other.com", "x"), add(kName, "4"), add(kName, "5")});
    EXPECT_EQ(r.rcode, 5);  // REFUSED
    EXPECT_NE(r.detail.find("max-values-per-name"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find(kName), std::string::npos) << r.detail;
    EXPECT_EQ(s.snapshot(), before);
    EXPECT_TRUE(values(s, "_acme-challenge.other.com").empty());
    // Deleting and adding in one update stays within the limit: allowed.
    EXPECT_EQ(s.apply({}, {del(kName, "1"), add(kName, "4")}).rcode, 0);
}

TEST(ChallengeStoreLimits, TotalLimitRefusesTheWholeUpdate) {
    ChallengeStore s(memory_options());  // 10 in all
    std::vector<Change> nine;
    for (int i = 0; i < 9; ++i) {
        nine.push_back(
            add(("_acme-challenge.n" + std::to_string(i) + ".example.com").c_str(), "v"));
    }
    ASSERT_EQ(s.apply({}, nine).rcode, 0);
    auto before = s.snapshot();
    auto r = s.apply({}, {add(kName, "a"), add(kName, "b")});
    EXPECT_EQ(r.rcode, 5);
    EXPECT_NE(r.detail.find("max-values"), std::string::npos) << r.detail;
    EXPECT_EQ(s.snapshot(), before);
    EXPECT_EQ(s.apply({}, {add(kName, "a")}).rcode, 0);
    EXPECT_EQ(s.snapshot()->value_count(), 10u);
}

// The zone a name counts against: the label after "_acme-challenge." and
// what follows, as a configured `zone` would be for these names.
std::optional<DnsName> test_zone_of(const DnsName& name) {
    const std::string& t = name.text();
    const auto dot = t.find('.');
    if (dot == std::string::npos) {
        return std::nullopt;
    }
    const auto second = t.find('.', dot + 1);
    return DnsName::parse(second == std::string::npos ? t.substr(dot + 1) : t.substr(second + 1));
}

// Options with a per-zone quota of `quota` (zones as test_zone_of says).
StoreOptions quota_options(std::size_t quota) {
    StoreOptions o = memory_options();
    o.max_values = 100;
    o.max_values_per_zone = quota;
    o.zone_of = test_zone_of;
    return o;
}

// Adds one value at each of _acme-challenge.n<i>.flood.com, i < count.
void flood(ChallengeStore& s, int count) {
    for (int i = 0; i < count; ++i) {
        const std::string name = "_acme-challenge.n" + std::to_string(i) + ".flood.com";
        ASSERT_EQ(s.apply({}, {add(name.c_str(), "v")}).rcode, 0) << i;
    }
}

TEST(ChallengeStoreLimits, PerZoneQuotaRefusesAFloodWhileOtherZonesStillWrite) {
    ChallengeStore s(quota_options(5));
    // One key floods distinct names under flood.com: refused at its quota.
    flood(s, 5);
    auto before = s.snapshot();
    auto r = s.apply({}, {add("_acme-challenge.n5.flood.com", "v")});
    EXPECT_EQ(r.rcode, 5);  // REFUSED
    EXPECT_NE(r.detail.find("flood.com"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("max-values-per-zone is 5"), std::string::npos) << r.detail;
    EXPECT_EQ(s.snapshot(), before);
    // Another zone still writes; the flooded zone may still delete, and then add.
    EXPECT_EQ(s.apply({}, {add("_acme-challenge.www.other.com", "w")}).rcode, 0);
    EXPECT_EQ(s.apply({}, {del("_acme-challenge.n0.flood.com", "v")}).rcode, 0);
    EXPECT_EQ(s.apply({}, {add("_acme-challenge.n5.flood.com", "v")}).rcode, 0);
    // Expired values stop counting once purged.
    s.purge_expired(Clock::now() + 601s);
    EXPECT_EQ(s.apply({}, {add("_acme-challenge.n9.flood.com", "v")}).rcode, 0);
}

TEST(ChallengeStoreLimits, PerZoneQuotaCountsWhatWasLoadedFromTheStateDirectory) {
    TempDir tmp;
    StoreOptions o = quota_options(3);
    o.state_dir = tmp.path();
    {
        ChallengeStore s(o);
        flood(s, 3);
    }
    ChallengeStore s(o);
    EXPECT_EQ(s.apply({}, {add("_acme-challenge.n3.flood.com", "v")}).rcode, 5);
    EXPECT_EQ(s.apply({}, {add("_acme-challenge.n3.other.com", "v")}).rcode, 0);
}

TEST(ChallengeStoreModel, EmptyNonTerminalsAreTracked) {
    ChallengeStore s(memory_options());
    ASSERT_EQ(s.apply({}, {add("a.b.acme.example.net", "v")}).rcode, 0);
    auto snap = s.snapshot();
    EXPECT_TRUE(snap->has_descendants(N("b.acme.example.net")));
    EXPECT_TRUE(snap->has_descendants(N("acme.example.net")));
    EXPECT_FALSE(snap->has_descendants(N("a.b.acme.example.net")));
    ASSERT_EQ(s.apply({}, {del("a.b.acme.example.net", "v")}).rcode, 0);
    EXPECT_FALSE(s.snapshot()->has_descendants(N("b.acme.example.net")));
    EXPECT_EQ(s.snapshot()->ancestor_count(), 0u);
}

TEST(ChallengeStoreModel, SerialIncreasesWithEveryChange) {
    ChallengeStore s(memory_options());
    std::uint32_t last = s.snapshot()->serial;
    for (int i = 0; i < 20; ++i) {
        auto r = s.apply({}, {add(kName, std::to_string(i % 3))});
        ASSERT_EQ(r.rcode, 0);
        EXPECT_GT(r.serial, last);
        last = r.serial;
        s.apply({}, {del(kName, std::to_string(i % 3))});
    }
}

// ---- structural sharing -----------------------------------------------------

std::string zone_name(int i) {
    return "_acme-challenge.z" + std::to_string(i) + ".example.com";
}

StoreOptions large_options() {
    StoreOptions o = memory_options();
    o.max_values = 100000;
    return o;
}

// Fills `s` with one value at each of zone_name(0..count-1), 100 per UPDATE.
void fill(ChallengeStore& s, int count) {
    for (int i = 0; i < count; i += 100) {
        std::vector<Change> changes;
        for (int j = i; j < std::min(count, i + 100); ++j) {
            changes.push_back(add(zone_name(j).c_str(), "v" + std::to_string(j)));
        }
        ASSERT_EQ(s.apply({}, changes).rcode, 0);
    }
}

TEST(ChallengeStoreSharing, AChangeCopiesOnlyTheBucketItTouches) {
    ChallengeStore s(large_options());
    constexpr int kNames = 20000;  // about 5 per bucket: most buckets hold some
    fill(s, kNames);
    const auto before = s.snapshot();
    const std::string added = zone_name(kNames);
    ASSERT_EQ(s.apply({}, {add(added.c_str(), "new")}).rcode, 0);
    const auto after = s.snapshot();
    ASSERT_NE(before, after);

    const void* touched = before->bucket_address(N(added.c_str()));
    std::set<const void*> changed_buckets;
    int shared = 0;
    int in_touched = 0;
    for (int i = 0; i < kNames; ++i) {
        const DnsName name = N(zone_name(i).c_str());
        const void* a = before->bucket_address(name);
        const void* b = after->bucket_address(name);
        if (a == b) {
            ++shared;
        } else {
            changed_buckets.insert(a);
        }
        if (a == touched) {
            ++in_touched;
        }
    }
    // Exactly the names that hash where the new name does moved to a copy.
    EXPECT_EQ(changed_buckets, (std::set<const void*>{touched}));
    EXPECT_EQ(shared, kNames - in_touched);
    EXPECT_LT(in_touched, 40) << "names are not spread over the buckets";
    EXPECT_EQ(after->size(), before->size() + 1);
    EXPECT_EQ(after->value_count(), before->value_count() + 1);

    std::vector<std::string> differences;
    Snapshot::for_each_difference(*before, *after,
                                  [&](const DnsName& n) { differences.push_back(n.text()); });
    EXPECT_EQ(differences, std::vector<std::string>{added});
}

TEST(ChallengeStoreSharing, AReaderHoldingAnOldSnapshotSeesItIntact) {
    ChallengeStore s(large_options());
    constexpr int kNames = 2000;
    fill(s, kNames);
    const auto old = s.snapshot();
    const std::uint32_t old_serial = old->serial;

    // Delete the even names, replace the odd ones' values, add new names.
    for (int i = 0; i < kNames; i += 100) {
        std::vector<Change> changes;
        for (int j = i; j < i + 100; ++j) {
            const std::string name = zone_name(j);
            if (j % 2 == 0) {
                changes.push_back({Change::Op::delete_name, N(name.c_str()), {}});
            } else {
                changes.push_back(del(name.c_str(), "v" + std::to_string(j)));
                changes.push_back(add(name.c_str(), "w" + std::to_string(j)));
            }
            changes.push_back(add(zone_name(kNames + j).c_str(), "x"));
        }
        ASSERT_EQ(s.apply({}, changes).rcode, 0);
    }
    s.purge_expired(Clock::now() + 1h);  // and expire everything
    EXPECT_EQ(s.snapshot()->size(), 0u);
    EXPECT_EQ(s.snapshot()->ancestor_count(), 0u);

    EXPECT_EQ(old->serial, old_serial);
    EXPECT_EQ(old->size(), static_cast<std::size_t>(kNames));
    EXPECT_EQ(old->value_count(), static_cast<std::size_t>(kNames));
    for (int i = 0; i < kNames; ++i) {
        const auto got = old->values_at(N(zone_name(i).c_str()), Clock::now());
        ASSERT_EQ(got.size(), 1u) << zone_name(i);
        EXPECT_EQ(got[0].data, TxtData{"v" + std::to_string(i)}) << zone_name(i);
    }
    EXPECT_TRUE(old->has_descendants(N("z0.example.com")));
    EXPECT_EQ(old->find(N(zone_name(kNames).c_str())), nullptr);
    std::size_t visited = 0;
    old->for_each(
        [&](const DnsName&, const std::vector<TxtValue>& values) { visited += values.size(); });
    EXPECT_EQ(visited, static_cast<std::size_t>(kNames));
}

TEST(ChallengeStoreSharing, ReadersSeeWholeTablesWhileWritersChangeThem) {
    // Every table a reader loads is one the store published: its names and
    // values agree with its own counts, and each UPDATE's pair of values
    // (written together) is there whole or not at all.
    ChallengeStore s(large_options());
    std::atomic<bool> done{false};
    std::atomic<int> bad{0};
    std::atomic<int> tables{0};
    std::thread reader([&] {
        while (!done.load()) {  // bounded by the writer below
            const auto snap = s.snapshot();
            std::size_t names = 0;
            std::size_t values = 0;
            snap->for_each([&](const DnsName&, const std::vector<TxtValue>& v) {
                ++names;
                values += v.size();
                if (v.size() != 2) {
                    ++bad;
                }
            });
            if (names != snap->size() || values != snap->value_count()) {
                ++bad;
            }
            ++tables;
        }
    });
    for (int i = 0; i < 3000; ++i) {
        const std::string name = zone_name(i % 500);
        if ((i / 500) % 2 == 0) {
            ASSERT_EQ(s.apply({}, {add(name.c_str(), "a"), add(name.c_str(), "b")}).rcode, 0);
        } else {
            ASSERT_EQ(s.apply({}, {{Change::Op::delete_name, N(name.c_str()), {}}}).rcode, 0);
        }
    }
    done = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GT(tables.load(), 0);
    EXPECT_EQ(s.snapshot()->size(), 0u);
}

TEST(ChallengeStoreSharing, ACopiedTableIsEditedWithoutTouchingTheOriginal) {
    Snapshot a;
    const auto later = Clock::now() + 1h;
    for (int i = 0; i < 100; ++i) {
        a.set(N(zone_name(i).c_str()), {{{"a" + std::to_string(i)}, later}});
    }
    Snapshot b(a);
    b.set(N(zone_name(0).c_str()), {});
    b.set(N(zone_name(1).c_str()), {{{"changed"}, later}});
    a.set(N(zone_name(2).c_str()), {});  // the original, edited after the copy
    EXPECT_EQ(a.size(), 99u);
    EXPECT_EQ(b.size(), 99u);
    ASSERT_NE(a.find(N(zone_name(0).c_str())), nullptr);
    EXPECT_EQ(a.find(N(zone_name(1).c_str()))->front().data, TxtData{"a1"});
    EXPECT_EQ(b.find(N(zone_name(1).c_str()))->front().data, TxtData{"changed"});
    ASSERT_NE(b.find(N(zone_name(2).c_str())), nullptr);
    EXPECT_EQ(a.find(N(zone_name(2).c_str())), nullptr);
}

// ---- durability -------------------------------------------------------------

StoreOptions disk_options(const fs::path& dir) {
    StoreOptions o = memory_options();
    o.state_dir = dir;
    o.max_values = 100000;
    o.max_values_per_name = 64;
    return o;
}

TEST(ChallengeStoreDurability, AcknowledgedValuesSurviveReopening) {
    TempDir tmp;
    std::uint32_t serial = 0;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "a"), add(kName, "b")}).rcode, 0);
        ASSERT_EQ(s.apply({}, {del(kName, "a"), add("x.acme.example.net", "c")}).rcode, 0);
        serial = s.snapshot()->serial;
    }
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(values(s, kName), std::set<std::string>{"b"});
    EXPECT_EQ(values(s, "x.acme.example.net"), std::set<std::string>{"c"});
    EXPECT_GT(s.snapshot()->serial, serial) << "a reopened store must not reuse a serial";
    EXPECT_TRUE(s.snapshot()->has_descendants(N("acme.example.net")));
    EXPECT_EQ(s.snapshot()->value_count(), 2u);
}

TEST(ChallengeStoreDurability, ExpiryTimesSurviveAndExpiredValuesAreDroppedOnLoad) {
    TempDir tmp;
    auto t0 = Clock::now();
    Clock::time_point expires;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "long")}, t0).rcode, 0);
        ASSERT_EQ(s.apply({}, {add(kName, "gone")}, t0 - 599s).rcode, 0);  // expires in 1 s
        expires = s.snapshot()->values_at(N(kName), t0).front().expires;
    }
    std::this_thread::sleep_for(1100ms);
    ChallengeStore s(disk_options(tmp.path()));
    auto got = s.snapshot()->values_at(N(kName), Clock::now());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].expires, expires);
    EXPECT_EQ(s.snapshot()->find(N(kName))->size(), 1u);
}

TEST(ChallengeStoreDurability, StateFilesAreNotWorldReadable) {
    TempDir tmp;
    ChallengeStore s(disk_options(tmp.path() / "state"));
    ASSERT_EQ(s.apply({}, {add(kName, "a")}).rcode, 0);
    auto perms = fs::status(tmp.path() / "state" / "journal").permissions();
    EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
}

TEST(ChallengeStoreDurability, ATornLastRecordIsIgnored) {
    TempDir tmp;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "kept")}).rcode, 0);
        ASSERT_EQ(s.apply({}, {add(kName, "torn")}).rcode, 0);
    }
    auto journal = tmp.path() / "journal";
    auto size = fs::file_size(journal);
    // Cut the last record in its middle, as a crash during write() would.
    fs::resize_file(journal, size - 5);
    {
        ChallengeStore s(disk_options(tmp.path()));
        EXPECT_EQ(values(s, kName), std::set<std::string>{"kept"});
        ASSERT_EQ(s.apply({}, {add(kName, "after")}).rcode, 0);
    }
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(values(s, kName), (std::set<std::string>{"kept", "after"}));
}

TEST(ChallengeStoreDurability, AFlippedBitInTheLastRecordIsIgnored) {
    TempDir tmp;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "kept")}).rcode, 0);
        ASSERT_EQ(s.apply({}, {add(kName, "flipped")}).rcode, 0);
    }
    auto journal = tmp.path() / "journal";
    {
        std::fstream f(journal, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(-3, std::ios::end);
        char c = 0;
        f.read(&c, 1);
        f.seekp(-3, std::ios::end);
        c ^= 0x10;
        f.write(&c, 1);
    }
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(values(s, kName), std::set<std::string>{"kept"});
}

TEST(ChallengeStoreDurability, CompactionWritesASnapshotAndCutsTheJournal) {
    TempDir tmp;
    auto options = disk_options(tmp.path());
    options.compact_after = 8;
    std::uint32_t serial = 0;
    {
        ChallengeStore s(options);
        for (int i = 0; i < 30; ++i) {
            ASSERT_EQ(s.apply({}, {add(kName, "v" + std::to_string(i))}).rcode, 0);
        }
        ASSERT_EQ(s.apply({}, {del(kName, "v0")}).rcode, 0);
        serial = s.snapshot()->serial;
        EXPECT_TRUE(fs::exists(tmp.path() / "snapshot"));
        auto perms = fs::status(tmp.path() / "snapshot").permissions();
        EXPECT_EQ(perms & fs::perms::others_all, fs::perms::none);
    }
    std::string existing;
    store_journal::JournalFile jf(tmp.path() / "journal", &existing);
    auto records = store_journal::decode_frames(existing).records;
    EXPECT_LT(records.size(), 9u) << "the journal should have been cut";
    ChallengeStore s(options);
    auto got = values(s, kName);
    EXPECT_EQ(got.size(), 29u);
    EXPECT_FALSE(got.contains("v0"));
    EXPECT_TRUE(got.contains("v29"));
    EXPECT_GT(s.snapshot()->serial, serial);
}

TEST(ChallengeStoreDurability, ALargeJournalIsCompactedByItsSize) {
    TempDir tmp;
    auto options = disk_options(tmp.path());
    options.compact_after = 1000000;
    options.compact_after_bytes = 4096;
    {
        ChallengeStore s(options);
        for (int i = 0; i < 40; ++i) {
            ASSERT_EQ(s.apply({}, {add(kName, std::string(200, static_cast<char>('a' + i % 26)) +
                                                  std::to_string(i))})
                          .rcode,
                      0);
        }
        EXPECT_TRUE(fs::exists(tmp.path() / "snapshot"));
        EXPECT_LT(fs::file_size(tmp.path() / "journal"), 4096u + 64u * 220u);
    }
    ChallengeStore s(options);
    EXPECT_EQ(values(s, kName).size(), 40u);
}

TEST(ChallengeStoreDurability, StaleJournalRecordsBelowTheSnapshotAreSkipped) {
    // A crash between writing the snapshot and cutting the journal leaves
    // records the snapshot already holds; replaying them must not undo later
    // changes.
    TempDir tmp;
    auto options = disk_options(tmp.path());
    std::string old_journal;
    {
        ChallengeStore s(options);
        ASSERT_EQ(s.apply({}, {add(kName, "a")}).rcode, 0);
        ASSERT_EQ(s.apply({}, {del(kName, "a"), add(kName, "b")}).rcode, 0);
        old_journal = std::string(fs::file_size(tmp.path() / "journal"), '\0');
        std::ifstream(tmp.path() / "journal", std::ios::binary)
            .read(old_journal.data(), static_cast<std::streamsize>(old_journal.size()));
    }
    {
        auto compacting = options;
        compacting.compact_after = 1;  // compacts on open
        ChallengeStore s(compacting);
        EXPECT_EQ(values(s, kName), std::set<std::string>{"b"});
    }
    ASSERT_TRUE(fs::exists(tmp.path() / "snapshot"));
    std::ofstream(tmp.path() / "journal", std::ios::binary | std::ios::trunc) << old_journal;
    ChallengeStore s(options);
    EXPECT_EQ(values(s, kName), std::set<std::string>{"b"});
}

TEST(ChallengeStoreDurability, ACorruptSnapshotIsAnErrorNamingTheFile) {
    TempDir tmp;
    std::ofstream(tmp.path() / "snapshot") << "garbage";
    try {
        ChallengeStore s(disk_options(tmp.path()));
        FAIL() << "a corrupt snapshot must not be ignored";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find((tmp.path() / "snapshot").string()), std::string::npos)
            << e.what();
    }
}

TEST(ChallengeStoreDurability, ConcurrentWritersAreAllDurable) {
    TempDir tmp;
    constexpr int kThreads = 32;
    constexpr int kEach = 40;
    {
        ChallengeStore s(disk_options(tmp.path()));
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&s, &failures, t] {
                std::string name = "_acme-challenge.t" + std::to_string(t) + ".example.com";
                for (int i = 0; i < kEach; ++i) {
                    auto r = s.apply({}, {add(name.c_str(), "v" + std::to_string(i))});
                    if (r.rcode != 0) {
                        ++failures;
                    }
                }
            });
        }
        for (auto& th : threads) {
            th.join();
        }
        EXPECT_EQ(failures.load(), 0);
        EXPECT_EQ(s.snapshot()->value_count(), static_cast<std::size_t>(kThreads * kEach));
    }
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(s.snapshot()->value_count(), static_cast<std::size_t>(kThreads * kEach));
    for (int t = 0; t < kThreads; ++t) {
        std::string name = "_acme-challenge.t" + std::to_string(t) + ".example.com";
        EXPECT_EQ(values(s, name.c_str()).size(), static_cast<std::size_t>(kEach)) << name;
    }
}

// Makes writes beyond the journal's current size fail with EFBIG, as a full
// disk fails them with ENOSPC; restores the limit when it goes.
class FileSizeLimit {
  public:
    explicit FileSizeLimit(rlim_t bytes) {
        ::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &saved_);
        rlimit lim = saved_;
        lim.rlim_cur = bytes;
        ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    ~FileSizeLimit() { ::setrlimit(RLIMIT_FSIZE, &saved_); }

  private:
    rlimit saved_{};
};

// apply_async from one thread: nothing waits for the disk, every callback
// runs once, after its value is published, and the destructor runs every
// callback still owed before it returns.
TEST(ChallengeStoreDurability, AsyncUpdatesAreAnsweredOnceDurableAndAllBeforeTheStoreCloses) {
    TempDir tmp;
    constexpr int kUpdates = 300;
    std::mutex mu;
    std::vector<int> calls(kUpdates, 0);
    std::vector<int> seen_published(kUpdates, 0);
    int not_noerror = 0;
    {
        ChallengeStore s(disk_options(tmp.path()));
        for (int i = 0; i < kUpdates; ++i) {
            const std::string name = "_acme-challenge.a" + std::to_string(i) + ".example.com";
            auto at_once =
                s.apply_async({}, {add(name.c_str(), "v")}, [&, i, name](UpdateResult r) {
                    const bool published = values(s, name.c_str()).count("v") == 1;
                    std::lock_guard lock(mu);
                    ++calls[static_cast<std::size_t>(i)];
                    seen_published[static_cast<std::size_t>(i)] = published;
                    not_noerror += r.rcode != 0;
                });
            EXPECT_FALSE(at_once) << "a change to a store with a journal is answered later";
        }
    }  // the destructor waits for the committer
    for (int i = 0; i < kUpdates; ++i) {
        EXPECT_EQ(calls[static_cast<std::size_t>(i)], 1) << i;
        EXPECT_TRUE(seen_published[static_cast<std::size_t>(i)]) << i;
    }
    EXPECT_EQ(not_noerror, 0);
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(s.snapshot()->value_count(), static_cast<std::size_t>(kUpdates));
}

TEST(ChallengeStoreDurability, AsyncResultsThatNeedNoWriteComeAtOnce) {
    TempDir tmp;
    ChallengeStore disk(disk_options(tmp.path()));
    bool called = false;
    auto refused = disk.apply_async({{K::txt_exists, N(kName), {}}}, {add(kName, "x")},
                                    [&called](UpdateResult) { called = true; });
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->rcode, 8) << "expected NXRRSET";
    ChallengeStore memory(memory_options());
    auto applied =
        memory.apply_async({}, {add(kName, "x")}, [&called](UpdateResult) { called = true; });
    ASSERT_TRUE(applied);
    EXPECT_EQ(applied->rcode, 0);
    EXPECT_EQ(values(memory, kName), std::set<std::string>{"x"});
    EXPECT_FALSE(called) << "a result given at once is not given again";
}

TEST(ChallengeStoreDurability, AsyncUpdatesThatCannotBeMadeDurableAreServfailAndChangeNothing) {
    TempDir tmp;
    ChallengeStore s(disk_options(tmp.path()));
    ASSERT_EQ(s.apply({}, {add(kName, "before")}).rcode, 0);
    auto before = s.snapshot();
    auto size = fs::file_size(tmp.path() / "journal");
    std::atomic<int> servfail{0};
    std::atomic<int> answered{0};
    {
        FileSizeLimit full(size);
        for (int i = 0; i < 20; ++i) {
            auto at_once =
                s.apply_async({}, {add(kName, "lost" + std::to_string(i))}, [&](UpdateResult r) {
                    servfail += r.rcode == 2;
                    ++answered;
                });
            EXPECT_FALSE(at_once);
        }
        // Synchronous apply() waits behind them (one committer, in order).
        EXPECT_EQ(s.apply({}, {add(kName, "lost-too")}).rcode, 2);
    }
    EXPECT_EQ(answered.load(), 20);
    EXPECT_EQ(servfail.load(), 20);
    EXPECT_EQ(s.snapshot(), before);
    EXPECT_EQ(values(s, kName), std::set<std::string>{"before"});
    EXPECT_EQ(fs::file_size(tmp.path() / "journal"), size);
}

TEST(ChallengeStoreDurability, AWriteThatCannotBeMadeDurableIsServfailAndChangesNothing) {
    TempDir tmp;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "before")}).rcode, 0);
        auto before = s.snapshot();
        auto size = fs::file_size(tmp.path() / "journal");
        {
            FileSizeLimit full(size);
            auto r = s.apply({}, {add(kName, "lost")});
            EXPECT_EQ(r.rcode, 2) << "expected SERVFAIL";
            EXPECT_NE(r.detail.find("journal"), std::string::npos) << r.detail;
            EXPECT_EQ(s.snapshot(), before);
            EXPECT_EQ(values(s, kName), std::set<std::string>{"before"});
        }
        EXPECT_EQ(fs::file_size(tmp.path() / "journal"), size);
        // Once the disk has room again, writes work, on top of the old state.
        auto r = s.apply({{K::txt_equals, N(kName), {{"before"}}}}, {add(kName, "after")});
        EXPECT_EQ(r.rcode, 0) << r.detail;
    }
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(values(s, kName), (std::set<std::string>{"before", "after"}));
}

TEST(ChallengeStoreDurability, AFullStateDiskStillOpensAndServesWhatItHas) {
    TempDir tmp;
    {
        ChallengeStore s(disk_options(tmp.path()));
        ASSERT_EQ(s.apply({}, {add(kName, "kept")}).rcode, 0);
    }
    auto size = fs::file_size(tmp.path() / "journal");
    std::uint32_t serial = 0;
    {
        FileSizeLimit full(size);  // not even the opening serial record fits
        ChallengeStore s(disk_options(tmp.path()));
        EXPECT_EQ(values(s, kName), std::set<std::string>{"kept"});
        serial = s.snapshot()->serial;
        auto r = s.apply({}, {add(kName, "refused")});
        EXPECT_EQ(r.rcode, 2) << "expected SERVFAIL";
        EXPECT_EQ(values(s, kName), std::set<std::string>{"kept"});
    }
    EXPECT_EQ(fs::file_size(tmp.path() / "journal"), size);
    ChallengeStore s(disk_options(tmp.path()));
    EXPECT_EQ(values(s, kName), std::set<std::string>{"kept"});
    // Not recorded, but never behind what was served: the serial follows the clock.
    EXPECT_GE(s.snapshot()->serial, serial);
    EXPECT_EQ(s.apply({}, {add(kName, "after")}).rcode, 0);
}

TEST(ChallengeStoreDurability, AnUnwritableStateDirectoryIsAnErrorNamingIt) {
    TempDir tmp;
    auto file = tmp.path() / "not-a-dir";
    std::ofstream(file) << "x";
    try {
        ChallengeStore s(disk_options(file / "state"));
        FAIL() << "expected an error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("not-a-dir"), std::string::npos) << e.what();
    }
}

TEST(StoreJournal, TheSnapshotFrameLengthIsSixtyFourBits) {
    // A snapshot is one frame; a 32-bit length (and the journal's 1 GiB
    // bound) made compaction of a large store fail and retry forever.
    Snapshot snap;
    snap.set(N(kName), {{{"v"}, Clock::now() + 60s}});
    const std::string bytes = store_journal::encode_snapshot(snap);
    ASSERT_TRUE(bytes.starts_with("ACMEZS2\n")) << bytes.substr(0, 8);
    const auto back = store_journal::decode_snapshot(bytes, "test");
    ASSERT_EQ(back.names.size(), 1u);
}

TEST(StoreJournal, FramesRoundTripAndDetectDamage) {
    store_journal::Record r;
    r.serial = 42;
    r.names.push_back({N(kName), {{{"a", std::string("\0\x01\xff", 3)}, Clock::time_point{}}}});
    r.names.push_back({N("x.example.com"), {}});
    std::string bytes = store_journal::encode_frame(r) + store_journal::encode_frame(r);
    auto d = store_journal::decode_frames(bytes);
    ASSERT_TRUE(d.torn.empty()) << d.torn;
    ASSERT_EQ(d.records.size(), 2u);
    EXPECT_EQ(d.records[1].serial, 42u);
    EXPECT_EQ(d.records[1].names[0].values[0].data[1], std::string("\0\x01\xff", 3));
    EXPECT_TRUE(d.records[1].names[1].values.empty());
    bytes[bytes.size() - 1] ^= 1;
    d = store_journal::decode_frames(bytes);
    EXPECT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.good_bytes, bytes.size() / 2);
    EXPECT_EQ(d.torn, "checksum mismatch");
    EXPECT_EQ(store_journal::crc32("123456789"), 0xCBF43926u);  // the CRC-32 check value
}

TEST(StoreJournal, AnExpiryBeyondTheClockIsUndecodableNotUndefined) {
    // Found by fuzz_store_journal: a right CRC around an expiry past 2262.
    store_journal::Record r;
    r.serial = 7;
    r.names.push_back({N(kName), {{{"v"}, Clock::time_point{}}}});
    std::string good = store_journal::encode_frame(r);
    std::string payload = good.substr(8);
    // The expiry's 8 octets follow version, serial, count, name, value count.
    std::size_t at = 1 + 4 + 4 + 1 + std::string(kName).size() + 4;
    for (std::size_t i = 0; i < 8; ++i) {
        payload[at + i] = i == 0 ? '\x7f' : '\xff';
    }
    std::string frame;
    for (std::uint32_t v :
         {static_cast<std::uint32_t>(payload.size()), store_journal::crc32(payload)}) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            frame.push_back(static_cast<char>((v >> shift) & 0xff));
        }
    }
    frame += payload;
    auto d = store_journal::decode_frames(good + frame);
    EXPECT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.good_bytes, good.size());
    EXPECT_NE(d.torn.find("out of range"), std::string::npos) << d.torn;
}

}  // namespace
}  // namespace acmezone::plugin
