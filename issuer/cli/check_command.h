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

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "issuer/acme/http_client.h"
#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

// The CA's CAA identities: [acme] caa-identity when given, else the
// directory's meta.caaIdentities (fetched with `http`); empty, with a
// warning logged, when the directory cannot be read or lists none.
std::vector<std::string> ca_caa_identities(const IssuerConfig& config, HttpClient& http);

int check_command(const IssuerConfig& config, const std::vector<std::string>& zones, bool json,
                  std::ostream& out);

// The runner's checks before ordering `zone`: nullopt when they pass, else
// "checks before ordering failed: " and the failed findings
// (PrecheckReport::failure_text). Warnings are logged at info level (a
// resolver refusing CAA queries would otherwise warn on every zone of every
// run). The CA's CAA identities are fetched once per process. Thread-safe.
std::optional<std::string> precheck_before_order(const IssuerConfig& config, const DnsName& zone);

}  // namespace acmezone::issuer
