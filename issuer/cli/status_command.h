// `acmezone-issuer status [--json]`: per configured zone, its certificate,
// state (valid, due, expired, missing, invalid), next action and when, the
// last attempt and its error, a rate-limit deferral, the CA that issued it
// (when the fallback), and the ARI window of each certificate.
//
// Text: one line per zone under the header
//   ZONE  STATE  NOT AFTER  DAYS LEFT  NEXT  NAMES / LAST ERROR
// --json: an array of objects, one per zone (keys as print_status_json in
// status_command.cpp writes them).
//
// Exit codes: 0 every certificate is valid, 1 some is not (kExitOk,
// kExitFailed of runner.h).
#pragma once

#include <ostream>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

int status_command(const IssuerConfig& config, bool json, std::ostream& out);

}  // namespace acmezone::issuer
