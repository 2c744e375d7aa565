// TsigKeyring: BIND key{} files, parsed strictly, with errors an operator can act on.
//
// Design note. The grammar is the subset of named.conf that key files use:
//
//     file      := { key-stmt }
//     key-stmt  := "key" NAME "{" { "algorithm" WORD ";" | "secret" STRING ";" } "}" ";"
//
// NAME, WORD and STRING may each be quoted or not. Comments are '#' and '//'
// to the end of the line and '/* ... */' (may span lines; not nested). A
// quoted string ends on the same line. The lexer keeps the line of every
// token so that each error names "<file>:<line>:" and, inside a key, the key
// ("key \"acme-key\": ..."). Anything else is an error, never skipped: a key
// file that named would read differently from us must not half-load.
// Secrets are never put in messages; only their line.
//
// Permissions are checked on the opened descriptor (fstat), not on the path,
// so the file checked is the file read.
#include "common/tsig_keyring.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <system_error>
#include <vector>

#include "common/base64.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace acmezone {
namespace {

struct AlgorithmInfo {
    TsigAlgorithm alg;
    std::string_view name;  // BIND spelling
    std::string_view wire;  // RFC 8945 wire name
    std::size_t mac_size;
};

constexpr AlgorithmInfo kAlgorithms[] = {
    {TsigAlgorithm::hmac_md5, "hmac-md5", "hmac-md5.sig-alg.reg.int", 16},
    {TsigAlgorithm::hmac_sha1, "hmac-sha1", "hmac-sha1", 20},
    {TsigAlgorithm::hmac_sha224, "hmac-sha224", "hmac-sha224", 28},
    {TsigAlgorithm::hmac_sha256, "hmac-sha256", "hmac-sha256", 32},
    {TsigAlgorithm::hmac_sha384, "hmac-sha384", "hmac-sha384", 48},
    {TsigAlgorithm::hmac_sha512, "hmac-sha512", "hmac-sha512", 64},
};

const AlgorithmInfo& info(TsigAlgorithm alg) {
    for (const auto& a : kAlgorithms) {
        if (a.alg == alg) {
            return a;
        }
    }
    return kAlgorithms[3];  // unreachable for valid enum values
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

// ---- lexer ----

struct Token {
    enum class Kind { word, string, open, close, semicolon, end };
    Kind kind;
    std::string text;
    int line;
};

std::string show(const Token& t) {
    switch (t.kind) {
        case Token::Kind::word:
            return "'" + t.text + "'";
        case Token::Kind::string:
            return "a quoted string";
        case Token::Kind::open:
            return "'{'";
        case Token::Kind::close:
            return "'}'";
        case Token::Kind::semicolon:
            return "';'";
        case Token::Kind::end:
            return "end of file";
    }
    return "?";
}

class Lexer {
  public:
    Lexer(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

    [[noreturn]] void fail(int line, const std::string& message) const {
        throw ConfigError(origin_ + ":" + std::to_string(line) + ": " + message);
    }

    Token next() {
        skip_space_and_comments();
        if (pos_ >= text_.size()) {
            return {Token::Kind::end, "", line_};
        }
        char c = text_[pos_];
        int line = line_;
        if (c == '{' || c == '}' || c == ';') {
            ++pos_;
            return {c == '{'   ? Token::Kind::open
                    : c == '}' ? Token::Kind::close
                               : Token::Kind::semicolon,
                    std::string(1, c), line};
        }
        if (c == '"') {
            std::size_t start = ++pos_;
            while (pos_ < text_.size() && text_[pos_] != '"' && text_[pos_] != '\n') {
                if (text_[pos_] == '\\') {
                    fail(line, "backslash escapes are not supported in quoted strings");
                }
                ++pos_;
            }
            if (pos_ >= text_.size() || text_[pos_] != '"') {
                fail(line, "unterminated quoted string (missing closing '\"' on this line)");
            }
            std::string s(text_.substr(start, pos_ - start));
            ++pos_;
            return {Token::Kind::string, std::move(s), line};
        }
        std::size_t start = pos_;
        while (pos_ < text_.size()) {
            char d = text_[pos_];
            if (is_space(d) || d == '{' || d == '}' || d == ';' || d == '"') {
                break;
            }
            if (static_cast<unsigned char>(d) < 0x20 || static_cast<unsigned char>(d) >= 0x7f) {
                fail(line_, "invalid byte 0x" + hex(d) + " (key files are ASCII text)");
            }
            ++pos_;
        }
        return {Token::Kind::word, std::string(text_.substr(start, pos_ - start)), line};
    }

  private:
    static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    }
    static std::string hex(char c) {
        static const char* digits = "0123456789abcdef";
        auto u = static_cast<unsigned char>(c);
        return std::string{digits[u >> 4], digits[u & 0xf]};
    }

    void skip_space_and_comments() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (c == '\n') {
                ++line_;
                ++pos_;
            } else if (is_space(c)) {
                ++pos_;
            } else if (c == '#' || (c == '/' && peek(1) == '/')) {
                while (pos_ < text_.size() && text_[pos_] != '\n') {
                    ++pos_;
                }
            } else if (c == '/' && peek(1) == '*') {
                int start_line = line_;
                pos_ += 2;
                while (true) {
                    if (pos_ >= text_.size()) {
                        fail(start_line, "unterminated comment (\"/*\" without \"*/\")");
                    }
                    if (text_[pos_] == '*' && peek(1) == '/') {
                        pos_ += 2;
                        break;
                    }
                    if (text_[pos_] == '\n') {
                        ++line_;
                    }
                    ++pos_;
                }
            } else {
                break;
            }
        }
    }
    char peek(std::size_t ahead) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }

    std::string_view text_;
    const std::string& origin_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

// Stores through a volatile pointer, which the compiler may not elide.
void wipe_bytes(char* p, std::size_t n) {
    volatile char* v = p;
    for (std::size_t i = 0; i < n; ++i) {
        v[i] = 0;
    }
}

std::string algorithm_list() {
    std::string out;
    for (const auto& a : kAlgorithms) {
        if (!out.empty()) {
            out += ", ";
        }
        out += a.name;
    }
    return out;
}

}  // namespace

std::string_view wire_name(TsigAlgorithm alg) {
    return info(alg).wire;
}

std::optional<TsigAlgorithm> tsig_algorithm_from_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') {
        name.remove_suffix(1);  // wire names may arrive absolute
    }
    for (const auto& a : kAlgorithms) {
        if (iequals(name, a.name) || iequals(name, a.wire)) {
            return a.alg;
        }
    }
    return std::nullopt;
}

std::size_t mac_size(TsigAlgorithm alg) {
    return info(alg).mac_size;
}

std::string TsigKey::secret_base64() const {
    return base64_encode(secret);
}

void TsigKeyring::add(TsigKey key) {
    if (keys_.count(key.name) != 0) {
        throw ConfigError("key \"" + key.name.text() + "\": defined twice");
    }
    DnsName name = key.name;
    keys_.emplace(std::move(name), std::move(key));
}

const TsigKey* TsigKeyring::find(const DnsName& name) const {
    auto it = keys_.find(name);
    return it == keys_.end() ? nullptr : &it->second;
}

TsigKeyring TsigKeyring::parse(std::string_view text, const std::string& origin) {
    Lexer lex(text, origin);
    TsigKeyring ring;
    std::map<DnsName, int> first_line;

    while (true) {  // each pass consumes at least one token
        Token t = lex.next();
        if (t.kind == Token::Kind::end) {
            break;
        }
        if (t.kind != Token::Kind::word || !iequals(t.text, "key")) {
            lex.fail(t.line,
                     "unexpected " + show(t) + " (expected a key \"NAME\" { ... }; statement)");
        }
        const int key_line = t.line;
        Token name_tok = lex.next();
        if (name_tok.kind != Token::Kind::word && name_tok.kind != Token::Kind::string) {
            lex.fail(name_tok.line, "expected a key name after 'key', found " + show(name_tok));
        }
        std::string error;
        auto name = DnsName::try_parse(name_tok.text, &error);
        if (!name || name->is_root()) {
            lex.fail(name_tok.line, "key \"" + name_tok.text + "\": bad key name: " +
                                        (name ? std::string("the root is not a key name") : error));
        }
        const std::string what = "key \"" + name_tok.text + "\": ";
        if (auto it = first_line.find(*name); it != first_line.end()) {
            lex.fail(key_line,
                     what + "defined twice (first at line " + std::to_string(it->second) + ")");
        }
        Token open = lex.next();
        if (open.kind != Token::Kind::open) {
            lex.fail(open.line, what + "expected '{' after the key name, found " + show(open));
        }

        TsigKey key;
        key.name = *name;
        std::optional<int> algorithm_line;
        std::optional<int> secret_line;
        while (true) {
            Token s = lex.next();
            if (s.kind == Token::Kind::close) {
                Token semi = lex.next();
                if (semi.kind != Token::Kind::semicolon) {
                    lex.fail(s.line,
                             what + "missing ';' after '}' (a key statement ends with \"};\")");
                }
                break;
            }
            if (s.kind == Token::Kind::end) {
                lex.fail(key_line, what + "missing '};' (the key's '{' is never closed)");
            }
            if (s.kind == Token::Kind::word && iequals(s.text, "key")) {
                lex.fail(s.line,
                         what + "missing '};' before the next key statement (key opened at line " +
                             std::to_string(key_line) + ")");
            }
            if (s.kind != Token::Kind::word) {
                lex.fail(s.line, what + "unexpected " + show(s) +
                                     " (expected 'algorithm NAME;' or 'secret \"BASE64\";')");
            }
            const bool is_algorithm = iequals(s.text, "algorithm");
            const bool is_secret = iequals(s.text, "secret");
            if (!is_algorithm && !is_secret) {
                lex.fail(s.line, what + "unknown statement '" + s.text +
                                     "' (a key holds only 'algorithm' and 'secret')");
            }
            auto& seen = is_algorithm ? algorithm_line : secret_line;
            if (seen) {
                lex.fail(s.line, what + s.text + " given twice (first at line " +
                                     std::to_string(*seen) + ")");
            }
            Token value = lex.next();
            if (value.kind != Token::Kind::word && value.kind != Token::Kind::string) {
                lex.fail(value.line,
                         what + "expected a value after '" + s.text + "', found " + show(value));
            }
            Token semi = lex.next();
            if (semi.kind != Token::Kind::semicolon) {
                lex.fail(value.line, what + "missing ';' after '" + s.text + "' value (found " +
                                         show(semi) + " at line " + std::to_string(semi.line) +
                                         ")");
            }
            if (is_algorithm) {
                auto alg = tsig_algorithm_from_name(value.text);
                if (!alg) {
                    lex.fail(value.line, what + "unknown algorithm \"" + value.text +
                                             "\" (expected one of " + algorithm_list() + ")");
                }
                key.algorithm = *alg;
                algorithm_line = value.line;
            } else {
                if (value.text.empty()) {
                    lex.fail(value.line, what +
                                             "empty secret (generate one with: tsig-keygen -a "
                                             "hmac-sha256 " +
                                             name->text() + ")");
                }
                auto secret = base64_decode(value.text);
                if (!secret) {
                    lex.fail(value.line, what + "secret is not valid base64");
                }
                if (secret->empty()) {
                    lex.fail(value.line, what +
                                             "empty secret (generate one with: tsig-keygen -a "
                                             "hmac-sha256 " +
                                             name->text() + ")");
                }
                if (secret->size() < kMinTsigSecretOctets) {
                    const std::size_t n = secret->size();
                    lex.fail(value.line, what + "secret is " + std::to_string(n) +
                                             (n == 1 ? " octet" : " octets") + " long; at least " +
                                             std::to_string(kMinTsigSecretOctets) +
                                             " are needed (RFC 8945 section 6); generate one "
                                             "with: tsig-keygen -a hmac-sha256 " +
                                             name->text());
                }
                key.secret = std::move(*secret);
                secret_line = value.line;
            }
        }
        if (!algorithm_line) {
            lex.fail(key_line, what + "no 'algorithm' statement (e.g. algorithm hmac-sha256;)");
        }
        if (!secret_line) {
            lex.fail(key_line, what + "no 'secret' statement");
        }
        first_line.emplace(*name, key_line);
        ring.add(std::move(key));
    }
    return ring;
}

namespace {

std::optional<uid_t> uid_of(std::string_view user) {
    if (user.empty()) {
        return std::nullopt;
    }
    const std::string name(user);
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return std::nullopt;
    }
    return pw.pw_uid;
}

std::optional<gid_t> gid_of(std::string_view group) {
    if (group.empty()) {
        return std::nullopt;
    }
    const std::string name(group);
    struct group gr {};
    struct group* found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return std::nullopt;
    }
    return gr.gr_gid;
}

std::string user_name(uid_t uid) {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
        return " (" + std::string(pw.pw_name) + ")";
    }
    return {};
}

std::string group_name(gid_t gid) {
    struct group gr {};
    struct group* found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
        return " (" + std::string(gr.gr_name) + ")";
    }
    return {};
}

// allow_group_read lets a group in: the file must be owned by root, the
// reader or `account`, and a group-readable file belong to the reader's group
// or `account`'s, so that no other user may change it or read it.
void check_owner_and_group(const std::string& path, const struct stat& st,
                           std::string_view account) {
    const uid_t owner = st.st_uid;
    if (owner != 0 && owner != ::geteuid() && uid_of(account) != owner) {
        throw ConfigError("key file " + path + " is owned by uid " + std::to_string(owner) +
                          user_name(owner) + ", not by root" +
                          (account.empty() ? std::string() : ", " + std::string(account)) +
                          " or the reading user (uid " + std::to_string(::geteuid()) +
                          "): its owner can change the keys; fix with: chown root " + path);
    }
    const gid_t group = st.st_gid;
    if ((st.st_mode & S_IRGRP) != 0 && group != ::getegid() && gid_of(account) != group) {
        const std::string want =
            account.empty() ? std::string("the reader's group") : std::string(account);
        throw ConfigError("key file " + path + " is readable by its group gid " +
                          std::to_string(group) + group_name(group) + ", not " + want +
                          ": every member of that group can read its secrets; fix with: " +
                          (account.empty()
                               ? std::string()
                               : "chgrp " + std::string(account) + " " + path + " (or ") +
                          "chmod 600 " + path + (account.empty() ? "" : ")"));
    }
}

}  // namespace

TsigKeyring TsigKeyring::load_file(const std::string& path, Permissions perms,
                                   std::string_view account) {
    const UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    const int fd = file.get();
    if (fd < 0) {
        throw ConfigError("cannot open key file " + path + ": " +
                          std::generic_category().message(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        throw ConfigError("cannot stat key file " + path + ": " +
                          std::generic_category().message(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw ConfigError("key file " + path + " is not a regular file");
    }
    const mode_t mode = st.st_mode & 07777;
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    if (perms == Permissions::owner_only && (mode & (S_IRWXG | S_IRWXO) & ~(S_IXGRP | S_IXOTH))) {
        throw ConfigError("key file " + path + " has mode " + octal +
                          ": group or others may read or write it, and it holds secrets; fix "
                          "with: chmod 600 " +
                          path);
    }
    if (perms == Permissions::allow_group_read && (mode & (S_IWGRP | S_IROTH | S_IWOTH))) {
        throw ConfigError("key file " + path + " has mode " + octal +
                          ": others may read or write it (or group write it), and it holds "
                          "secrets; fix with: chmod 600 " +
                          path + " (or chmod 640 " + path + " to let its group read it)");
    }
    if (perms == Permissions::allow_group_read) {
        check_owner_and_group(path, st, account);
    }
    std::string text;
    char buf[16384];
    // Don't leave copies of the secrets in freed memory, whatever happens.
    struct Wipe {
        std::string& text;
        char* buf;
        std::size_t size;
        ~Wipe() {
            wipe_bytes(text.data(), text.size());
            wipe_bytes(buf, size);
        }
    } wipe{text, buf, sizeof buf};
    for (int interrupts = 0;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR && ++interrupts < 1000) {
                continue;
            }
            throw ConfigError("cannot read key file " + path + ": " +
                              std::generic_category().message(errno));
        }
        if (n == 0) {
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    return parse(text, path);
}

}  // namespace acmezone
