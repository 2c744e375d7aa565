// Certificate Transparency: the signed certificate timestamps (SCTs, RFC
// 6962) a CA embeds in the leaf, read with OpenSSL's CT API, and the policy
// the issuer holds a certificate to before storing it ([certs] ct).
//
//   - read_scts() takes the SCT list extension (1.3.6.1.4.1.11129.2.4.2) of
//     the chain's leaf. Without a log list each SCT is only parsed: its log
//     is its log ID (the SHA-256 of the log's key, base64) and it counts as
//     that log's. With a log list (CtLogList: OpenSSL's CT log file format,
//     CTLOG_STORE_load_file) each SCT is verified (SCT_validate) against the
//     key of the log it names, over the leaf as the CA submitted it (the
//     precertificate: the leaf without its SCTs, with the chain's second
//     certificate as issuer); then only verified SCTs count, an SCT of a log
//     the list does not hold is reported and does not count, and one that
//     does not verify against its listed log fails the policy.
//   - ct_policy_failure(): the reason a report fails the policy (SCTs from
//     fewer than kMinCtLogs distinct logs, or an invalid SCT), "" when it holds.
//   - The mode: require (a failing certificate is not stored), warn (logged,
//     stored), off (not read). Its default is require, except for a CA on
//     this machine (is_local_test_ca: Pebble and the like embed no SCTs).
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace acmezone::issuer {

class CtError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class CtMode { require, warn, off };
std::string_view to_string(CtMode m);                            // "require", "warn", "off"
std::optional<CtMode> ct_mode_from_name(std::string_view name);  // nullopt: unknown

// True when the directory URL's host is `localhost`, a name ending in
// `.localhost`, an IPv4 loopback address (127.0.0.0/8) or `[::1]`: a test CA
// such as Pebble on this machine, whose certificates carry no SCTs.
bool is_local_test_ca(std::string_view directory_url);
// require, or off for a local test CA.
CtMode default_ct_mode(std::string_view directory_url);

// SCTs from at least this many distinct logs: what require asks for.
inline constexpr std::size_t kMinCtLogs = 2;

// A CT log list file, loaded once; shared read-only by concurrent checks.
class CtLogList {
  public:
    // Throws CtError naming the file when it does not load.
    static std::shared_ptr<const CtLogList> load(const std::filesystem::path& file);
    const std::filesystem::path& file() const { return file_; }
    CTLOG_STORE* store() const { return store_.get(); }

  private:
    std::filesystem::path file_;
    std::shared_ptr<CTLOG_STORE> store_;
};

enum class SctStatus {
    parsed,        // no log list: not verified, counts as its log's
    verified,      // verified against its listed log's key
    invalid,       // does not verify against its listed log's key
    unknown_log,   // its log is not in the list
    unverifiable,  // no issuer in the chain, or a version/format OpenSSL cannot check
};
std::string_view to_string(SctStatus s);  // "parsed", "verified", ...

struct SctInfo {
    std::string log_id;    // base64 of the log's ID
    std::string log_name;  // the log list's description; "" when not listed
    std::chrono::system_clock::time_point timestamp;
    SctStatus status = SctStatus::parsed;

    // The name when the list has one, else the ID.
    const std::string& log() const { return log_name.empty() ? log_id : log_name; }
    bool counts() const { return status == SctStatus::parsed || status == SctStatus::verified; }
};

struct CtReport {
    std::vector<SctInfo> scts;                      // in the leaf's order
    std::optional<std::filesystem::path> log_list;  // the list they were verified against
    // The distinct logs of the SCTs that count, in the leaf's order.
    std::vector<std::string> counted_logs() const;
};

// The leaf's (first certificate's) SCTs; `logs` null: parsed only (and the
// issuer, needed only to verify, is not parsed). Throws CtError when the
// chain or the SCT extension does not parse.
CtReport read_scts(std::string_view fullchain_pem, const CtLogList* logs);
// The SCTs of a leaf already parsed, parsed only (no log list).
CtReport read_scts(X509* leaf);

// "" when `report` holds the policy, else why not, in the operator's words.
std::string ct_policy_failure(const CtReport& report);

}  // namespace acmezone::issuer
