// TsigKeyring: BIND key{} files — good ones, tsig-keygen's output, every kind
// of malformed one (asserting file, line and the thing at fault), and the
// file-mode refusal.
#include "common/tsig_keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <string>

#include "common/base64.h"
#include "common/error.h"
#include "common/file_io.h"
#include "tests/unit/temp_dir.h"

using namespace acmezone;
using acmezone::test_support::TempDir;
using acmezone::test_support::UmaskScope;
namespace fs = std::filesystem;

namespace {

// 32 bytes 0x00..0x1f.
constexpr const char* kSecret32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// Parses `text` as "keys.conf" and checks that it fails at `line` with a
// message containing every piece of `parts`.
void expect_error(const std::string& text, int line, std::initializer_list<std::string> parts) {
    try {
        TsigKeyring::parse(text, "keys.conf");
        ADD_FAILURE() << "parsed without error:\n" << text;
    } catch (const ConfigError& e) {
        std::string msg = e.what();
        std::string prefix = "keys.conf:" + std::to_string(line) + ": ";
        EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "expected prefix " << prefix << " in: " << msg;
        for (const auto& p : parts) {
            EXPECT_NE(msg.find(p), std::string::npos) << "missing \"" << p << "\" in: " << msg;
        }
        EXPECT_EQ(msg.find(kSecret32), std::string::npos) << "secret leaked: " << msg;
    }
}

std::string key_block(const std::string& name, const std::string& alg,
                      const std::string& secret = kSecret32) {
    return "key \"" + name + "\" {\n    algorithm " + alg + ";\n    secret \"" + secret +
           "\";\n};\n";
}

class TsigKeyFile : public ::testing::Test {
  protected:
    TempDir tmp_{"keys"};
    fs::path dir_ = tmp_.path();
};

}  // namespace

TEST(TsigAlgorithm, NamesAndSizes) {
    EXPECT_EQ(wire_name(TsigAlgorithm::hmac_md5), "hmac-md5.sig-alg.reg.int");
    EXPECT_EQ(wire_name(TsigAlgorithm::hmac_sha256), "hmac-sha256");
    EXPECT_EQ(tsig_algorithm_from_name("hmac-md5"), TsigAlgorithm::hmac_md5);
    EXPECT_EQ(tsig_algorithm_from_name("HMAC-MD5.SIG-ALG.REG.INT."), TsigAlgorithm::hmac_md5);
    EXPECT_EQ(tsig_algorithm_from_name("hmac-sha1"), TsigAlgorithm::hmac_sha1);
    EXPECT_EQ(tsig_algorithm_from_name("hmac-sha224"), TsigAlgorithm::hmac_sha224);
    EXPECT_EQ(tsig_algorithm_from_name("Hmac-Sha256"), TsigAlgorithm::hmac_sha256);
    EXPECT_EQ(tsig_algorithm_from_name("hmac-sha256."), TsigAlgorithm::hmac_sha256);
    EXPECT_EQ(tsig_algorithm_from_name("hmac-sha384"), TsigAlgorithm::hmac_sha384);
    EXPECT_EQ(tsig_algorithm_from_name("hmac-sha512"), TsigAlgorithm::hmac_sha512);
    EXPECT_FALSE(tsig_algorithm_from_name("hmac-sha256-128").has_value());
    EXPECT_FALSE(tsig_algorithm_from_name("").has_value());
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_md5), 16u);
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_sha1), 20u);
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_sha224), 28u);
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_sha256), 32u);
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_sha384), 48u);
    EXPECT_EQ(mac_size(TsigAlgorithm::hmac_sha512), 64u);
}

TEST(TsigKeyring, SeveralKeysCommentsAndEveryAlgorithm) {
    const std::string text =
        std::string(
            "# hash comment\n"
            "// slash comment\n"
            "/* block\n   comment */\n"
            "key \"Acme-Key\" {  # trailing comment\n"
            "    algorithm hmac-sha256; // another\n"
            "    secret \"") +
        kSecret32 +
        "\"; /* inline */\n"
        "};\n"
        "key unquoted.example {\n"
        "    secret \"AQID\";\n"
        "    ALGORITHM \"HMAC-SHA512\";\n"
        "};\n"
        "KEY k-md5 { algorithm hmac-md5; secret \"AQID\"; };\n"
        "key k-md5-wire { algorithm hmac-md5.sig-alg.reg.int; secret \"AQID\"; };\n"
        "key k-sha1 { algorithm hmac-sha1; secret \"AQID\"; };\n"
        "key k-sha224 { algorithm hmac-sha224; secret \"AQID\"; };\n"
        "key k-sha384 { algorithm hmac-sha384; secret \"AQID\"; };\n";
    TsigKeyring ring = TsigKeyring::parse(text, "keys.conf");
    ASSERT_EQ(ring.size(), 7u);

    const TsigKey* acme = ring.find(DnsName::parse("ACME-KEY."));
    ASSERT_NE(acme, nullptr);
    EXPECT_EQ(acme->name.text(), "acme-key");
    EXPECT_EQ(acme->algorithm, TsigAlgorithm::hmac_sha256);
    ASSERT_EQ(acme->secret.size(), 32u);
    for (std::size_t i = 0; i < 32; ++i) {
        EXPECT_EQ(acme->secret[i], i);
    }
    EXPECT_EQ(acme->secret_base64(), kSecret32);

    const TsigKey* u = ring.find(DnsName::parse("unquoted.example"));
    ASSERT_NE(u, nullptr);
    EXPECT_EQ(u->algorithm, TsigAlgorithm::hmac_sha512);
    EXPECT_EQ(u->secret, (std::vector<std::uint8_t>{1, 2, 3}));

    EXPECT_EQ(ring.find(DnsName::parse("k-md5"))->algorithm, TsigAlgorithm::hmac_md5);
    EXPECT_EQ(ring.find(DnsName::parse("k-md5-wire"))->algorithm, TsigAlgorithm::hmac_md5);
    EXPECT_EQ(ring.find(DnsName::parse("k-sha1"))->algorithm, TsigAlgorithm::hmac_sha1);
    EXPECT_EQ(ring.find(DnsName::parse("k-sha224"))->algorithm, TsigAlgorithm::hmac_sha224);
    EXPECT_EQ(ring.find(DnsName::parse("k-sha384"))->algorithm, TsigAlgorithm::hmac_sha384);
    EXPECT_EQ(ring.find(DnsName::parse("no-such-key")), nullptr);
}

TEST(TsigKeyring, EmptyFileHasNoKeys) {
    EXPECT_EQ(TsigKeyring::parse("", "keys.conf").size(), 0u);
    EXPECT_EQ(TsigKeyring::parse("# only a comment\n", "keys.conf").size(), 0u);
}

TEST(TsigKeyring, AddRefusesDuplicate) {
    TsigKeyring ring;
    TsigKey k;
    k.name = DnsName::parse("a-key");
    k.secret = {1, 2, 3};
    ring.add(k);
    k.name = DnsName::parse("A-KEY");
    EXPECT_THROW(ring.add(k), ConfigError);
    EXPECT_EQ(ring.size(), 1u);
}

TEST(TsigKeyringErrors, MissingSemicolonAfterAlgorithm) {
    expect_error("key \"k1\" {\n    algorithm hmac-sha256\n    secret \"AQID\";\n};\n", 2,
                 {"key \"k1\"", "missing ';'", "algorithm"});
}

TEST(TsigKeyringErrors, MissingSemicolonAfterSecret) {
    expect_error("key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQID\"\n};\n", 3,
                 {"key \"k1\"", "missing ';'", "secret"});
}

TEST(TsigKeyringErrors, MissingClosingBraceAtEndOfFile) {
    expect_error("\n\nkey \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQID\";\n", 3,
                 {"key \"k1\"", "missing '};'"});
}

TEST(TsigKeyringErrors, MissingClosingBraceBeforeNextKey) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQID\";\n"
        "key \"k2\" {\n    algorithm hmac-sha256;\n    secret \"AQID\";\n};\n",
        4, {"key \"k1\"", "missing '};'", "line 1"});
}

TEST(TsigKeyringErrors, MissingSemicolonAfterClosingBrace) {
    expect_error("key \"k1\" {\n  algorithm hmac-sha256;\n  secret \"AQID\";\n}\n", 4,
                 {"key \"k1\"", "missing ';' after '}'"});
}

TEST(TsigKeyringErrors, MissingOpeningBrace) {
    expect_error("key \"k1\"\n  algorithm hmac-sha256;\n", 2,
                 {"key \"k1\"", "expected '{'", "'algorithm'"});
}

TEST(TsigKeyringErrors, UnknownAlgorithm) {
    expect_error(key_block("k1", "hmac-foo"), 2,
                 {"key \"k1\"", "unknown algorithm \"hmac-foo\"", "hmac-sha256", "hmac-md5"});
}

TEST(TsigKeyringErrors, BadBase64) {
    expect_error(key_block("k1", "hmac-sha256", "not*base64=="), 3,
                 {"key \"k1\"", "secret is not valid base64"});
    expect_error(key_block("k2", "hmac-sha256", "AQI"), 3, {"key \"k2\"", "not valid base64"});
}

TEST(TsigKeyringErrors, EmptySecret) {
    expect_error(key_block("k1", "hmac-sha256", ""), 3, {"key \"k1\"", "empty secret"});
    expect_error(key_block("k2", "hmac-sha256", "  "), 3, {"key \"k2\"", "empty secret"});
}

TEST(TsigKeyringErrors, MissingSecret) {
    expect_error("# header\nkey \"k1\" {\n    algorithm hmac-sha256;\n};\n", 2,
                 {"key \"k1\"", "no 'secret'"});
}

TEST(TsigKeyringErrors, MissingAlgorithm) {
    expect_error("\nkey \"k1\" {\n    secret \"AQID\";\n};\n", 2, {"key \"k1\"", "no 'algorithm'"});
}

TEST(TsigKeyringErrors, DuplicateKeyCaseInsensitive) {
    expect_error(
        key_block("acme-key", "hmac-sha256") + "\n" + key_block("ACME-Key.", "hmac-sha512"), 6,
        {"key \"ACME-Key.\"", "defined twice", "first at line 1"});
}

TEST(TsigKeyringErrors, StatementGivenTwice) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    algorithm hmac-sha512;\n"
        "    secret \"AQID\";\n};\n",
        3, {"key \"k1\"", "algorithm given twice", "first at line 2"});
}

TEST(TsigKeyringErrors, BadKeyName) {
    expect_error("\n" + key_block("a..b", "hmac-sha256"), 2,
                 {"key \"a..b\"", "bad key name", "empty label"});
    expect_error(key_block("has space", "hmac-sha256"), 1, {"key \"has space\"", "bad key name"});
    expect_error(key_block(".", "hmac-sha256"), 1, {"bad key name", "root"});
    expect_error("key {\n", 1, {"expected a key name"});
}

TEST(TsigKeyringErrors, UnknownStatementInsideKey) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQID\";\n    owner root;\n};\n", 4,
        {"key \"k1\"", "unknown statement 'owner'"});
}

TEST(TsigKeyringErrors, UnterminatedComment) {
    expect_error(key_block("k1", "hmac-sha256") + "/* never\nclosed\n", 5,
                 {"unterminated comment"});
}

TEST(TsigKeyringErrors, UnterminatedString) {
    expect_error("key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQID;\n};\n", 3,
                 {"unterminated quoted string"});
}

TEST(TsigKeyringErrors, StrayText) {
    expect_error(key_block("k1", "hmac-sha256") + "hello world;\n", 5,
                 {"unexpected 'hello'", "expected a key"});
    expect_error("options { };\n", 1, {"unexpected 'options'"});
    expect_error("\n};\n", 2, {"unexpected '}'"});
}

TEST(TsigKeyringErrors, ValueMissing) {
    expect_error("key \"k1\" {\n    algorithm ;\n};\n", 2,
                 {"key \"k1\"", "expected a value after 'algorithm'"});
}

TEST_F(TsigKeyFile, TsigKeygenOutputLoads) {
    fs::path out = dir_ / "acme-key.conf";
    std::string cmd = "PATH=\"$PATH:/usr/sbin:/sbin\" tsig-keygen -a hmac-sha256 acme-key > '" +
                      out.string() + "'";
    {
        UmaskScope u(077);  // the file holds a secret from its first byte
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    TsigKeyring ring = TsigKeyring::load_file(out.string());
    ASSERT_EQ(ring.size(), 1u);
    const TsigKey* k = ring.find(DnsName::parse("acme-key"));
    ASSERT_NE(k, nullptr);
    EXPECT_EQ(k->algorithm, TsigAlgorithm::hmac_sha256);
    EXPECT_EQ(k->secret.size(), 32u);  // tsig-keygen makes a key as long as the digest
    // The secret text in the file is what secret_base64() gives back.
    EXPECT_NE(read_file(out).find("\"" + k->secret_base64() + "\""), std::string::npos);
}

TEST_F(TsigKeyFile, GroupOrOtherReadableFileIsRefused) {
    UmaskScope u(0);
    const std::string text = key_block("k1", "hmac-sha256");
    for (mode_t mode : {0644, 0640, 0604, 0660, 0620, 0602}) {
        fs::path p = dir_ / ("keys-" + std::to_string(mode) + ".conf");
        write_file_atomic(p, text, mode);
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
        try {
            TsigKeyring::load_file(p.string());
            ADD_FAILURE() << "mode " << octal << " accepted";
        } catch (const ConfigError& e) {
            std::string msg = e.what();
            EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
            EXPECT_NE(msg.find(octal), std::string::npos) << msg;
            EXPECT_NE(msg.find("chmod 600 " + p.string()), std::string::npos) << msg;
        }
    }
    fs::path ok = dir_ / "ok.conf";
    write_file_atomic(ok, text, 0600);
    EXPECT_EQ(TsigKeyring::load_file(ok.string()).size(), 1u);
    fs::path ro = dir_ / "ro.conf";
    write_file_atomic(ro, text, 0400);
    EXPECT_EQ(TsigKeyring::load_file(ro.string()).size(), 1u);
}

TEST_F(TsigKeyFile, AllowGroupReadAcceptsGroupButNotOthers) {
    UmaskScope u(0);
    const std::string text = key_block("k1", "hmac-sha256");
    fs::path group = dir_ / "group.conf";
    write_file_atomic(group, text, 0640);
    EXPECT_EQ(
        TsigKeyring::load_file(group.string(), TsigKeyring::Permissions::allow_group_read).size(),
        1u);
    for (mode_t mode : {0644, 0604, 0642, 0660}) {
        fs::path p = dir_ / ("keys-" + std::to_string(mode) + ".conf");
        write_file_atomic(p, text, mode);
        try {
            TsigKeyring::load_file(p.string(), TsigKeyring::Permissions::allow_group_read);
            ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find("chmod 600 " + p.string()), std::string::npos)
                << e.what();
        }
    }
}

TEST_F(TsigKeyFile, UnreadableOrMissingFile) {
    fs::path missing = dir_ / "missing.conf";
    try {
        TsigKeyring::load_file(missing.string());
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
    }
    EXPECT_THROW(TsigKeyring::load_file(dir_.string()), ConfigError);  // a directory
}

TEST_F(TsigKeyFile, LoadFileReportsFileAndLine) {
    fs::path p = dir_ / "bad.conf";
    write_file_atomic(p, "\n\nkey \"k1\" { algorithm hmac-nope; secret \"AQID\"; };\n", 0600);
    try {
        TsigKeyring::load_file(p.string());
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(p.string() + ":3: key \"k1\": unknown algorithm", 0),
                  0u)
            << e.what();
    }
}
