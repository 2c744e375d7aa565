// TSIG keys in BIND's key{} syntax, the same file named.conf, nsupdate -k and
// the plugin can all read:
//
//     # comments: '#', '//' and '/* ... */'
//     key "acme-key" {
//         algorithm hmac-sha256;
//         secret "base64==";
//     };
//
// Several keys per file. Key names are DNS names (case-insensitive). The
// algorithms are hmac-md5 (also spelled hmac-md5.sig-alg.reg.int), hmac-sha1,
// hmac-sha224, hmac-sha256, hmac-sha384 and hmac-sha512. Anything else, a
// duplicate key, a missing algorithm or secret, bad base64 or an empty secret
// is a ConfigError naming file and line, and so is a secret shorter than
// kMinTsigSecretOctets (RFC 8945 section 6), naming the key. A file that group
// or others may read or write is refused (a secret readable by others is no
// secret), unless the caller passes Permissions::allow_group_read (named's key
// files are often root:bind 0640), which accepts group read but still refuses
// group write and any access by others, and checks who else that lets in: the
// file must be owned by root, the reading user or `account`, and a
// group-readable file's group must be the reader's own group or `account`'s
// ("bind" for the plugin, "acmezone" for the issuer: the documented ones).
// The message says what to run ("chmod 600 FILE", "chown root FILE").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns_name.h"

namespace acmezone {

// The shortest secret accepted, in octets.
inline constexpr std::size_t kMinTsigSecretOctets = 16;

enum class TsigAlgorithm {
    hmac_md5,
    hmac_sha1,
    hmac_sha224,
    hmac_sha256,
    hmac_sha384,
    hmac_sha512
};

// "hmac-sha256"; for MD5 the wire name "hmac-md5.sig-alg.reg.int".
std::string_view wire_name(TsigAlgorithm alg);
// Accepts the BIND spellings and the wire names, case-insensitive.
std::optional<TsigAlgorithm> tsig_algorithm_from_name(std::string_view name);
// Digest length in octets (16 for MD5 ... 64 for SHA-512).
std::size_t mac_size(TsigAlgorithm alg);

struct TsigKey {
    DnsName name;
    TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
    std::vector<std::uint8_t> secret;  // decoded; never log it
    std::string secret_base64() const;
};

class TsigKeyring {
  public:
    enum class Permissions { owner_only, allow_group_read };

    // Throws ConfigError ("<file>:<line>: ...") on anything malformed, and
    // for an unreadable file or one with too open a mode, owner or group.
    // `account`: with allow_group_read, the documented user and group besides
    // root and the reader's own ("bind", "acmezone"); may be empty.
    static TsigKeyring load_file(const std::string& path,
                                 Permissions perms = Permissions::owner_only,
                                 std::string_view account = {});
    // Parses text; `origin` names the source in error messages.
    static TsigKeyring parse(std::string_view text, const std::string& origin);

    void add(TsigKey key);  // throws ConfigError on a duplicate name
    const TsigKey* find(const DnsName& name) const;
    std::size_t size() const { return keys_.size(); }
    const std::map<DnsName, TsigKey>& keys() const { return keys_; }

  private:
    std::map<DnsName, TsigKey> keys_;
};

}  // namespace acmezone
