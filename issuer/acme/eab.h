// External Account Binding (RFC 8555 §7.3.4): how an ACME account is tied
// to an account the operator holds with a CA that requires it (ZeroSSL,
// Google Trust Services, a company CA; Pebble with
// externalAccountBindingRequired).
//
// The CA hands out a key identifier ("kid") and a MAC key. newAccount then
// carries, in its payload, "externalAccountBinding": a flattened JWS whose
//   protected header is {"alg":"HS256","kid":<eab kid>,"url":<newAccount URL>},
//   payload is the account's public JWK,
//   signature is HMAC-SHA256 over "protected.payload" with the MAC key.
//
// The MAC key lives in a file of its own holding the base64url text the CA
// gave (white space around it ignored; padding tolerated). Like the other
// key files, it must not be readable by group or others: such a file is
// refused with the chmod that fixes it. As with AccountKey, this class is
// the only code that sees the MAC key; it is never logged, and the copy read
// from the file is wiped.
#pragma once

#include <json/value.h>

#include <filesystem>
#include <string>
#include <vector>

namespace acmezone::issuer {

class EabKey {
  public:
    // `mac_key` is the raw key (decoded); throws std::invalid_argument when empty.
    EabKey(std::string kid, std::vector<unsigned char> mac_key);
    ~EabKey();
    EabKey(const EabKey&) = default;
    EabKey& operator=(const EabKey&) = default;

    // Reads the base64url MAC key from `path` (mode 0600 or stricter).
    // Throws std::runtime_error naming the path and what is wrong.
    static EabKey load(std::string kid, const std::filesystem::path& path);

    const std::string& kid() const { return kid_; }
    // The "externalAccountBinding" member of the newAccount payload.
    Json::Value bind(const Json::Value& account_jwk, const std::string& new_account_url) const;

  private:
    std::string kid_;
    std::vector<unsigned char> mac_key_;
};

}  // namespace acmezone::issuer
