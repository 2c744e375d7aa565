// The checks before ordering: order nothing that is bound to fail.
//
// For one zone Z, in this order:
//   challenge name  _acme-challenge.Z resolves at the [dns] resolver, directly
//                   or through CNAMEs (ChallengeDns::challenge_name);
//   publish         a test value, "acmezone-precheck-" and 25 random base64url
//                   characters (43 in all, which gdnsd accepts too), is written
//                   at that name through every publisher, one at a time, so
//                   that each one's answer is judged alone: a control socket's
//                   NOTAUTH means the name is in no zone it serves, REFUSED
//                   that the key is not granted there (the advice names the
//                   plugin.conf line to add);
//   propagation     when every write succeeded: every authoritative server
//                   serves the test value (ChallengeDns::wait_until_served,
//                   the same wait as before a real validation);
//   CAA             the relevant CAA set allows the CA for Z and *.Z (caa.h).
// The test value is removed (exactly it, from every publisher that was asked
// to write it, also one that failed half-way) on every path before
// precheck_zone returns; gdnsd cannot remove it (gdnsd_publisher.h) and
// lets it expire. A failed removal is a warning finding.
//
// A finding is ok, a warning (worth knowing, no reason not to order) or
// failed (an order would fail: do not place it). Thread-safe: each call
// uses only its arguments; ChallengeDns is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/dns/challenge_dns.h"

namespace acmezone::issuer {

struct Finding {
    enum class Result { ok, warning, failed };
    std::string check;  // "challenge name", "publish", "propagation", "CAA", "cleanup"
    Result result = Result::ok;
    std::string what;  // what was found, naming the names, servers and answers
    std::string fix;   // how to fix it, in the operator's words; empty when ok

    static const char* result_name(Result r);  // "ok", "warning", "FAILED"
};

struct PrecheckReport {
    DnsName zone;
    std::vector<Finding> findings;
    // Where the zone's values go (after its CNAMEs), when that was found.
    std::optional<DnsName> owner;

    bool failed() const;
    // The failed findings, one after the other: "publish: ... (fix: ...); CAA: ..."
    std::string failure_text() const;
};

// `caa_identities`: the CA's CAA identities (directory meta.caaIdentities or
// [acme] caa-identity); empty when unknown.
PrecheckReport precheck_zone(const DnsName& zone, const ChallengeDns& dns,
                             const std::vector<std::string>& caa_identities);

// The finding for a control socket's refusal of the test write, by rcode.
// `owner`: where the value went; `cname`: whether _acme-challenge.`zone` is a
// CNAME (to owner); `apex`: the zone the socket reports for owner, if any.
Finding control_refusal_finding(const DnsError& error, const std::string& socket,
                                const DnsName& zone, const DnsName& owner, bool cname,
                                const std::optional<DnsName>& apex, const DnsName& key);

// A fresh test value (see above).
std::string precheck_test_value();

}  // namespace acmezone::issuer
