// `acmezone-issuer check [ZONE...] [--json]`: the checks before ordering
// (precheck.h) for these configured zones, or for every configured zone,
// without ordering anything; prints per zone each finding and, for those
// that are not ok, how to fix it.
//
//   example.com: ok
//     ok       challenge name  _acme-challenge.example.com (no CNAME)
//     ...
//   other.org: FAILED
//     FAILED   publish         _acme-challenge.other.org has no CNAME and ...
//              fix: add `zone = other.org` to plugin.conf's zones ...
//
// --json: an array of {"zone", "ok", "findings": [{"check", "result" (ok,
// warning, failed), "what", "fix"}]}. Zones are checked by up to `parallel`
// threads at once; the output keeps the order given.
//
// Exit codes: 0 every zone passed (warnings allowed), 1 some zone failed,
// 2 bad configuration or a zone that is not configured.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

// The CAA identities are those of the CA a pass would use now (the fallback
// while the first is failing, ca_session.h open_ca_session_to_look).
int check_command(const IssuerConfig& config, const std::vector<std::string>& zones, bool json,
                  std::ostream& out);

}  // namespace acmezone::issuer
