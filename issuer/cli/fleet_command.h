// `status --fleet [--json]`: which hosts hold which version of each zone, as
// `serve` recorded it in STATE-DIR/fleet.json (issuer/serve/fleet_view.h),
// against the version served now (staging counted).
//
// Text: per configured zone a line
//   ZONE: serving version N; H host(s), O outdated
// then one line per host that fetched it
//   HOST  version V  last fetch TIME (STATUS)  [outdated]
// --json: {"fleet_file", "written" (or null), "zones": [{"zone", "serving"
// (or null), "hosts_outdated", "hosts": [{"host", "version", "last_fetch",
// "last_status", "outdated"}...]}...]}
//
// No fleet.json yet (serve never answered a fetch): every zone without hosts.
// Exit 0 when no host is outdated, 1 when some is (kExitFailed of runner.h),
// 2 without a [serve] section or with a fleet.json that does not parse.
#pragma once

#include <ostream>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

int fleet_status_command(const IssuerConfig& config, bool json, std::ostream& out);

}  // namespace acmezone::issuer
