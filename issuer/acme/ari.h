// ACME Renewal Information (RFC 9773): the CA's own word on when a
// certificate should be renewed.
//
// When the directory has "renewalInfo", the issuer GETs (unauthenticated)
// <renewalInfo>/<certID> for each zone's current certificate, where
//
//     certID = base64url(AKI keyIdentifier) "." base64url(serial)
//
// (no padding; the serial as the bytes of its DER INTEGER encoding, without
// tag and length, so a serial with the top bit set keeps its leading zero).
// The answer's suggestedWindow {start, end} sets the renewal time: a random
// time within it, picked once per window (pass/schedule.h pick_in_window); a
// window already past means renew now. Its Retry-After header says when to
// ask again (clamped to 1 min..1 day; 6 h without one). The order that
// renews the certificate carries "replaces": certID.
//
// Errors (a certificate without an AKI keyIdentifier, a malformed answer)
// throw AriError; the runner then falls back to renew-before and asks again
// after the re-poll time.
#pragma once

#include <json/value.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <openssl/types.h>

#include "common/utc_time.h"

namespace acmezone::issuer {

class AriError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// certID of the first certificate in `pem`.
std::string ari_cert_id(std::string_view pem);
// certID of a certificate parsed already.
std::string ari_cert_id(X509* cert);

struct RenewalInfo {
    SysTime window_start;
    SysTime window_end;
    std::string explanation_url;
};

// Parses a renewalInfo answer; throws AriError naming what is wrong.
RenewalInfo parse_renewal_info(const Json::Value& doc);

// How long to wait before asking again, from the answer's Retry-After.
std::chrono::seconds ari_repoll_interval(std::optional<std::chrono::seconds> retry_after);

}  // namespace acmezone::issuer
