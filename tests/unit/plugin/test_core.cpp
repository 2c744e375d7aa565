// The process-wide core (plugin/core.h): instances naming the same
// configuration file share one core (one store, one control socket); the
// last release stops it, and a later acquire starts a new one on the same
// socket and state. Real sockets on 127.0.0.1 (port 0: chosen by the kernel).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "plugin/core.h"

namespace acmezone::plugin {
namespace {

namespace fs = std::filesystem;

class CoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ = (fs::temp_directory_path() / "acmezone-core-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        std::ofstream(dir_ / "keys.conf") << "key \"acme-key\" {\n\talgorithm hmac-sha256;\n"
                                             "\tsecret \"c2VjcmV0LXNlY3JldC1zZWNyZXQ=\";\n};\n";
        ::chmod((dir_ / "keys.conf").c_str(), 0600);
        write_config(0);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void write_config(int port) {
        std::ofstream(config()) << "zone = example.com\nnameserver = ns1.example.com\n"
                                   "state-dir = state\n[control]\nlisten = 127.0.0.1:"
                                << port << "\nkeys = keys.conf\n"
                                << "grant = acme-key zonesub example.com\n";
    }
    std::string config() const { return (dir_ / "plugin.conf").string(); }
    fs::path dir_;
};

Change add(const char* value) {
    return {Change::Op::add, DnsName::parse("_acme-challenge.example.com"), {value}};
}

TEST_F(CoreTest, InstancesOfOneConfigShareOneCore) {
    CoreRef a = CoreRef::acquire(config());
    // Another spelling of the same path is the same file.
    CoreRef b = CoreRef::acquire((dir_ / "." / "plugin.conf").string());
    EXPECT_EQ(&*a, &*b);
    EXPECT_EQ(a->references(), 2u);
    ASSERT_EQ(a->store().apply({}, {add("shared")}).rcode, 0);
    EXPECT_EQ(b->store()
                  .snapshot()
                  ->values_at(DnsName::parse("_acme-challenge.example.com"), Clock::now())
                  .size(),
              1u);
    ASSERT_EQ(a->control_endpoints().size(), 1u);
    EXPECT_NE(a->control_endpoints()[0].port(), 0);
    a = CoreRef();
    EXPECT_EQ(b->references(), 1u);
}

TEST_F(CoreTest, TheLastReleaseStopsTheCoreAndANewOneRebindsTheSocket) {
    std::uint16_t port = 0;
    {
        CoreRef a = CoreRef::acquire(config());
        port = a->control_endpoints().at(0).port();
        ASSERT_EQ(a->store().apply({}, {add("kept")}).rcode, 0);
    }
    // The same fixed port again: it must be free once the old core is gone.
    write_config(port);
    CoreRef again = CoreRef::acquire(config());
    EXPECT_EQ(again->control_endpoints().at(0).port(), port);
    EXPECT_EQ(again->references(), 1u);
    EXPECT_EQ(again->store()
                  .snapshot()
                  ->values_at(DnsName::parse("_acme-challenge.example.com"), Clock::now())
                  .size(),
              1u);
}

TEST_F(CoreTest, ABadConfigIsAConfigErrorAndLeavesNoCore) {
    std::ofstream(config()) << "zone = example.com\nttl = ten\n";
    EXPECT_THROW(CoreRef::acquire(config()), ConfigError);
    write_config(0);
    CoreRef a = CoreRef::acquire(config());
    EXPECT_EQ(a->references(), 1u);
}

TEST_F(CoreTest, AMissingConfigNamesTheFile) {
    try {
        CoreRef::acquire((dir_ / "missing.conf").string());
        FAIL() << "expected an error";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("missing.conf"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace acmezone::plugin
