// See precheck.h.
#include "issuer/dns/precheck.h"

#include <sys/random.h>

#include <array>

#include "common/dns_rcode.h"
#include "common/log.h"
#include "issuer/dns/authoritative_servers.h"
#include "issuer/dns/caa.h"
#include "issuer/dns/dns_exchange.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {
namespace {

constexpr std::string_view kTestPrefix = "acmezone-precheck-";
constexpr std::size_t kValueLength = 43;

Finding ok(std::string check, std::string what) {
    return {std::move(check), Finding::Result::ok, std::move(what), ""};
}

Finding failed(std::string check, std::string what, std::string fix) {
    return {std::move(check), Finding::Result::failed, std::move(what), std::move(fix)};
}

Finding warning(std::string check, std::string what, std::string fix) {
    return {std::move(check), Finding::Result::warning, std::move(what), std::move(fix)};
}

// The zone a control socket reports for `owner` (its SOA answer), if any.
std::optional<DnsName> apex_at(const Endpoint& control, const DnsName& owner,
                               std::chrono::milliseconds timeout) {
    try {
        DnsReply reply =
            query(control, owner, LDNS_RR_TYPE_SOA, /*recursion_desired=*/false, timeout);
        if (auto zone = zone_in_soa_answer(reply.packet.get(), owner)) {
            return zone;
        }
    } catch (const ExchangeError& e) {
        log_debug("control socket ", control.to_string(), ": no zone for ", owner.text(), ": ",
                  e.what());
    }
    return std::nullopt;
}

// Removes the test value from every publisher it was sent to, on every path.
class TestValueGuard {
  public:
    TestValueGuard(DnsName owner, std::string value, std::vector<Finding>& findings)
        : owner_(std::move(owner)), value_(std::move(value)), findings_(findings) {}
    ~TestValueGuard() {
        for (const Publisher* p : sent_) {
            try {
                p->unpublish(owner_, {value_});
            } catch (const std::exception& e) {
                try {
                    findings_.push_back(warning(
                        "cleanup",
                        "could not remove test value " + quoted(value_) + " at " + owner_.text() +
                            ": " + e.what(),
                        "it expires on its own at the end of the plugin's `lifetime`; remove it "
                        "sooner with nsupdate (update delete " +
                            owner_.text() + " TXT \"" + value_ + "\")"));
                } catch (...) {
                }
            }
        }
    }
    TestValueGuard(const TestValueGuard&) = delete;
    TestValueGuard& operator=(const TestValueGuard&) = delete;
    void sent_to(const Publisher* p) { sent_.push_back(p); }
    // `p` answered, verifiably, that it changed nothing.
    void refused_by(const Publisher* p) { std::erase(sent_, p); }

  private:
    DnsName owner_;
    std::string value_;
    std::vector<Finding>& findings_;
    std::vector<const Publisher*> sent_;
};

void check_caa(const DnsName& zone, const ChallengeDns& dns,
               const std::vector<std::string>& identities, std::vector<Finding>& out) {
    const DnsSettings& s = dns.settings();
    CaaSet set;
    try {
        set = find_relevant_caa(zone, s.resolver, s.timeout);
    } catch (const DnsError& e) {
        out.push_back(failed("CAA", zone.text() + ": cannot look up CAA: " + e.what(),
                             "make the [dns] resolver (" + s.resolver.to_string() +
                                 ") answer CAA queries for " + zone.text() + " and above"));
        return;
    }
    const CaaVerdict plain = caa_decide(set, zone, /*wildcard=*/false, identities);
    const CaaVerdict wild = caa_decide(set, zone, /*wildcard=*/true, identities);
    std::string what = plain.detail;
    if (wild.detail != plain.detail) {
        what += "; " + wild.detail;
    }
    using K = CaaVerdict::Kind;
    if (plain.kind == K::forbidden || wild.kind == K::forbidden) {
        std::string ids = identities.empty() ? std::string("the CA's CAA domain") : identities[0];
        out.push_back(failed("CAA", what,
                             "add `" + set.owner.text() + ". CAA 0 issue \"" + ids +
                                 "\"` (and `CAA 0 issuewild \"" + ids +
                                 "\"` when issuewild records exist), or remove the records "
                                 "that exclude this CA"));
    } else if (set.unchecked) {
        out.push_back(warning("CAA", what,
                              "use a recursive resolver in [dns] resolver so that CAA can be "
                              "checked (the CA checks it anyway)"));
    } else if (plain.kind == K::unknown || wild.kind == K::unknown) {
        out.push_back(warning("CAA", what,
                              "CAA records exist but cannot be matched: set [acme] caa-identity "
                              "in issuer.conf to the CA's CAA domain (e.g. letsencrypt.org) so "
                              "that they can be checked"));
    } else {
        out.push_back(ok("CAA", what));
    }
}

}  // namespace

const char* Finding::result_name(Result r) {
    switch (r) {
        case Result::ok:
            return "ok";
        case Result::warning:
            return "warning";
        case Result::failed:
            return "FAILED";
    }
    return "?";
}

bool PrecheckReport::failed() const {
    for (const Finding& f : findings) {
        if (f.result == Finding::Result::failed) {
            return true;
        }
    }
    return false;
}

std::string PrecheckReport::failure_text() const {
    std::string out;
    for (const Finding& f : findings) {
        if (f.result != Finding::Result::failed) {
            continue;
        }
        out += (out.empty() ? "" : "; ") + f.check + ": " + f.what +
               (f.fix.empty() ? std::string() : " (fix: " + f.fix + ")");
    }
    return out;
}

std::string precheck_test_value() {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::array<unsigned char, kValueLength> random{};
    std::size_t got = 0;
    // getrandom returns at most what was asked; short reads only on signals.
    while (got < random.size()) {
        ssize_t n = ::getrandom(random.data() + got, random.size() - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        got += static_cast<std::size_t>(n);
    }
    std::string value(kTestPrefix);
    for (std::size_t i = 0; value.size() < kValueLength; ++i) {
        value += kAlphabet[random[i] & 63];
    }
    return value;
}

Finding control_refusal_finding(const DnsError& error, const std::string& socket,
                                const DnsName& zone, const DnsName& owner, bool cname,
                                const std::optional<DnsName>& apex, const DnsName& key) {
    const std::string first = "_acme-challenge." + zone.text();
    const int rcode = error.rcode().value_or(-1);
    if (rcode == kRcodeNotAuth || rcode == kRcodeNotZone) {
        if (!cname) {
            return failed("publish",
                          first + " has no CNAME and " + zone.text() +
                              " is not a zone of the control socket at " + socket + " (answered " +
                              (rcode == kRcodeNotAuth ? "NOTAUTH" : "NOTZONE") + ")",
                          "add `zone = " + zone.text() +
                              "` to plugin.conf's zones and restart named, or CNAME " + first +
                              " to a name in your challenge zone");
        }
        return failed("publish",
                      first + " is a CNAME to " + owner.text() +
                          ", which is in no zone of the control socket at " + socket +
                          " (answered NOTAUTH)",
                      "add the zone holding " + owner.text() +
                          " to plugin.conf as `challenge-zone =` and restart named, or point the "
                          "CNAME into a challenge zone the plugin serves");
    }
    if (rcode == kRcodeRefused) {
        // The plugin reports a `zone` Z's claim as _acme-challenge.Z; grants name Z.
        DnsName where = cname ? owner : zone;
        if (apex) {
            where = !apex->is_root() && apex->labels().front() == "_acme-challenge"
                        ? *apex->parent()
                        : *apex;
        }
        return failed("publish",
                      "control socket " + socket + " answered REFUSED for " + owner.text() +
                          ": key " + key.text() + " is not granted " + owner.text() +
                          " (wrong or missing grant)",
                      "add `grant = " + key.text() + " zonesub " + where.text() +
                          "` to the [control] section of plugin.conf and restart named (named "
                          "reads plugin.conf as it starts); with the grant in place, named's log "
                          "names the plugin's reason (a full replay memory refuses every signed "
                          "message for a while: see replay-memory)");
    }
    return failed(
        "publish", error.what(),
        "fix what the message names, then run `acmezone-issuer check " + zone.text() + "` again");
}

PrecheckReport precheck_zone(const DnsName& zone, const ChallengeDns& dns,
                             const std::vector<std::string>& caa_identities) {
    PrecheckReport report;
    report.zone = zone;
    std::vector<Finding>& out = report.findings;
    const DnsSettings& s = dns.settings();

    std::optional<DnsName> owner;
    bool cname = false;
    try {
        owner = dns.challenge_name(zone);
        cname = *owner != zone.child("_acme-challenge");
        out.push_back(
            ok("challenge name", cname ? "_acme-challenge." + zone.text() + " is a CNAME to " +
                                             owner->text() + ": values go there"
                                       : "_acme-challenge." + zone.text() + " (no CNAME)"));
    } catch (const DnsError& e) {
        out.push_back(failed("challenge name", e.what(),
                             "make the [dns] resolver (" + s.resolver.to_string() +
                                 ") answer for _acme-challenge." + zone.text() +
                                 ": a recursive resolver, or an authoritative server of " +
                                 zone.text()));
    }

    report.owner = owner;
    if (owner) {
        // A block so that the guard removes the test value before CAA is asked.
        std::vector<Finding> cleanup;
        {
            const std::string value = precheck_test_value();
            TestValueGuard guard(*owner, value, cleanup);
            bool all_written = true;
            const auto& publishers = dns.publishers();
            for (std::size_t i = 0; i < publishers.size(); ++i) {
                const Publisher& p = *publishers[i];
                guard.sent_to(&p);
                try {
                    p.publish(*owner, {value});
                    out.push_back(
                        ok("publish", p.name() + " took a test value at " + owner->text()));
                } catch (const DnsError& e) {
                    all_written = false;
                    if (e.rcode()) {
                        guard.refused_by(&p);
                    }
                    if (i < s.controls.size()) {
                        const Endpoint& control = s.controls[i];
                        std::optional<DnsName> apex;
                        if (e.rcode() == kRcodeRefused) {
                            apex = apex_at(control, *owner, s.timeout);
                        }
                        out.push_back(control_refusal_finding(e, control.to_string(), zone, *owner,
                                                              cname, apex, s.key.name));
                    } else {
                        out.push_back(
                            failed("publish", e.what(),
                                   "check that gdnsd runs and that the [publish] gdnsdctl command "
                                   "reaches its control socket"));
                    }
                }
            }
            if (publishers.empty()) {
                all_written = false;
                out.push_back(failed("publish", "no control socket or gdnsdctl configured",
                                     "add [publish] control = IP:PORT or gdnsdctl = COMMAND"));
            }
            if (all_written) {
                try {
                    dns.wait_until_served(*owner, {value});
                    out.push_back(ok("propagation",
                                     "every authoritative server serves the test "
                                     "value at " +
                                         owner->text()));
                } catch (const DnsError& e) {
                    out.push_back(failed(
                        "propagation", e.what(),
                        "every authoritative server of the zone holding " + owner->text() +
                            " must serve what the plugin holds: check its NS set, [dns] "
                            "check-server, and that each server runs the plugin (or replicates "
                            "it as a secondary)"));
                }
            }
        }  // the guard removes the test value here
        out.insert(out.end(), cleanup.begin(), cleanup.end());
    }

    check_caa(zone, dns, caa_identities, out);
    return report;
}

}  // namespace acmezone::issuer
