// `acmezone-issuer status [--json]`: per configured zone, its certificate,
// state (valid, due, expired, missing, invalid), next action and when, the
// last attempt and its error, a rate-limit deferral, the CA that issued it
// (when the fallback), and the ARI window of each certificate.
//
// Text: one line per zone under the header
//   ZONE  STATE  NOT AFTER  DAYS LEFT  NEXT  NAMES / LAST ERROR
// A zone from a catalog ([zones] catalog) says so ("(from catalog C)",
// JSON "source": "catalog C"; listed zones: "listed"). Zones that left a
// catalog follow, one line each: "left the catalog C: not renewed; its
// certificates stay in DIR" (JSON "state": "left the catalog"); they do not
// change the exit code.
// --json: an array of objects, one per zone (keys as zone_json in
// status_command.cpp writes them).
//
// Zones are read by a few threads, a batch at a time, and listed in the
// configuration's order.
//
// Exit codes: 0 every certificate is valid, 1 some is not (kExitOk,
// kExitFailed of runner.h).
#pragma once

#include <ostream>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

int status_command(const IssuerConfig& config, bool json, std::ostream& out);

}  // namespace acmezone::issuer
