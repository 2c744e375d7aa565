// TsigKeyring: BIND key{} files — good ones, tsig-keygen's output, every kind
// of malformed one (asserting file, line and the thing at fault), and the
// file-mode refusal.
#include "common/tsig_keyring.h"

#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
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
        "    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n"
        "    ALGORITHM \"HMAC-SHA512\";\n"
        "};\n"
        "KEY k-md5 { algorithm hmac-md5; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; };\n"
        "key k-md5-wire { algorithm hmac-md5.sig-alg.reg.int; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; "
        "};\n"
        "key k-sha1 { algorithm hmac-sha1; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; };\n"
        "key k-sha224 { algorithm hmac-sha224; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; };\n"
        "key k-sha384 { algorithm hmac-sha384; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; };\n";
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
    EXPECT_EQ(u->secret,
              (std::vector<std::uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}));

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
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n};\n",
        2, {"key \"k1\"", "missing ';'", "algorithm"});
}

TEST(TsigKeyringErrors, MissingSemicolonAfterSecret) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"\n};\n",
        3, {"key \"k1\"", "missing ';'", "secret"});
}

TEST(TsigKeyringErrors, MissingClosingBraceAtEndOfFile) {
    expect_error(
        "\n\nkey \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n",
        3, {"key \"k1\"", "missing '};'"});
}

TEST(TsigKeyringErrors, MissingClosingBraceBeforeNextKey) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n"
        "key \"k2\" {\n    algorithm hmac-sha256;\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n};\n",
        4, {"key \"k1\"", "missing '};'", "line 1"});
}

TEST(TsigKeyringErrors, MissingSemicolonAfterClosingBrace) {
    expect_error(
        "key \"k1\" {\n  algorithm hmac-sha256;\n  secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n}\n", 4,
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
    expect_error("\nkey \"k1\" {\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n};\n", 2,
                 {"key \"k1\"", "no 'algorithm'"});
}

TEST(TsigKeyringErrors, DuplicateKeyCaseInsensitive) {
    expect_error(
        key_block("acme-key", "hmac-sha256") + "\n" + key_block("ACME-Key.", "hmac-sha512"), 6,
        {"key \"ACME-Key.\"", "defined twice", "first at line 1"});
}

TEST(TsigKeyringErrors, StatementGivenTwice) {
    expect_error(
        "key \"k1\" {\n    algorithm hmac-sha256;\n    algorithm hmac-sha512;\n"
        "    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n};\n",
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
        "key \"k1\" {\n    algorithm hmac-sha256;\n    secret \"AQIDBAUGBwgJCgsMDQ4PEA==\";\n    "
        "owner root;\n};\n",
        4, {"key \"k1\"", "unknown statement 'owner'"});
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

// Issue 20 item 6: a group-readable key file must also be owned by root or
// the reader, and belong to the reader's group (or the documented one the
// caller names); changing owners needs root, so the test does.
TEST_F(TsigKeyFile, AllowGroupReadChecksOwnerAndGroup) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to chown test files";
    }
    UmaskScope u(0);
    const std::string text = key_block("k1", "hmac-sha256");
    const auto load = [](const fs::path& p) {
        return TsigKeyring::load_file(p.string(), TsigKeyring::Permissions::allow_group_read);
    };
    const auto expect_refused = [&](const fs::path& p, std::initializer_list<std::string> parts) {
        try {
            load(p);
            ADD_FAILURE() << p << " accepted";
        } catch (const ConfigError& e) {
            for (const auto& part : parts) {
                EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
                    << "missing \"" << part << "\" in: " << e.what();
            }
        }
    };
    constexpr uid_t kNobody = 65534;
    constexpr gid_t kNogroup = 65534;

    fs::path owned = dir_ / "owned-by-nobody.conf";
    write_file_atomic(owned, text, 0600);
    ASSERT_EQ(::chown(owned.c_str(), kNobody, 0), 0);
    expect_refused(owned, {owned.string(), "owned by uid 65534", "chown root " + owned.string()});

    fs::path other_group = dir_ / "other-group.conf";
    write_file_atomic(other_group, text, 0640);
    ASSERT_EQ(::chown(other_group.c_str(), 0, kNogroup), 0);
    expect_refused(other_group, {other_group.string(), "group gid 65534", "chmod 600 "});

    // The same group, not readable by it: nothing to check.
    ::chmod(other_group.c_str(), 0600);
    EXPECT_EQ(load(other_group).size(), 1u);
    // The reader's own group (root's here) is fine, as is root's ownership.
    fs::path own_group = dir_ / "own-group.conf";
    write_file_atomic(own_group, text, 0640);
    EXPECT_EQ(load(own_group).size(), 1u);

    // The documented account (named's bind) as group and as owner.
    const struct group* bind_group = ::getgrnam("bind");
    const struct passwd* bind_user = ::getpwnam("bind");
    if (bind_group == nullptr || bind_user == nullptr) {
        return;  // no bind account here: the rest needs one
    }
    const gid_t bind_gid = bind_group->gr_gid;
    const uid_t bind_uid = bind_user->pw_uid;
    fs::path bind_file = dir_ / "root-bind.conf";
    write_file_atomic(bind_file, text, 0640);
    ASSERT_EQ(::chown(bind_file.c_str(), 0, bind_gid), 0);
    EXPECT_EQ(TsigKeyring::load_file(bind_file.string(), TsigKeyring::Permissions::allow_group_read,
                                     "bind")
                  .size(),
              1u);
    expect_refused(bind_file, {"group gid " + std::to_string(bind_gid), "chmod 600 "});
    ASSERT_EQ(::chown(bind_file.c_str(), bind_uid, bind_gid), 0);
    EXPECT_EQ(TsigKeyring::load_file(bind_file.string(), TsigKeyring::Permissions::allow_group_read,
                                     "bind")
                  .size(),
              1u);
    try {
        TsigKeyring::load_file(other_group.string(), TsigKeyring::Permissions::allow_group_read,
                               "bind");
        ::chmod(other_group.c_str(), 0640);
        TsigKeyring::load_file(other_group.string(), TsigKeyring::Permissions::allow_group_read,
                               "bind");
        ADD_FAILURE() << "root:nogroup 0640 accepted for bind";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("chgrp bind " + other_group.string()),
                  std::string::npos)
            << e.what();
    }
}

// Issue 20 item 6: secrets shorter than 16 octets are refused, naming the key.
TEST(TsigKeyringErrors, SecretShorterThan16OctetsIsRefused) {
    // 15 octets 0x00..0x0e
    expect_error(
        key_block("short-key", "hmac-sha256", "AAECAwQFBgcICQoLDA0O"), 3,
        {"key \"short-key\"", "15 octets", "at least 16", "tsig-keygen -a hmac-sha256 short-key"});
    expect_error(key_block("one-octet", "hmac-sha512", "AQ=="), 3,
                 {"key \"one-octet\"", "1 octet", "at least 16"});
    // 16 octets 0x00..0x0f: accepted.
    EXPECT_EQ(
        TsigKeyring::parse(key_block("k16", "hmac-sha256", "AAECAwQFBgcICQoLDA0ODw=="), "keys.conf")
            .size(),
        1u);
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
    write_file_atomic(
        p, "\n\nkey \"k1\" { algorithm hmac-nope; secret \"AQIDBAUGBwgJCgsMDQ4PEA==\"; };\n", 0600);
    try {
        TsigKeyring::load_file(p.string());
        FAIL() << "no exception";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(p.string() + ":3: key \"k1\": unknown algorithm", 0),
                  0u)
            << e.what();
    }
}
