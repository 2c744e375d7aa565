// The issuer's DNS side of DNS-01; the contract is in challenge_dns.h.
//
// Design notes
// - Where values go: `_acme-challenge.<zone>` is asked for CNAME at the
//   resolver; each target in turn too, until a name answers NXDOMAIN or
//   NODATA (no CNAME): values go there. More than 8 CNAMEs, or a name seen
//   twice, is an error that prints the whole chain ("a -> b -> a").
// - Publishers: ChallengeDns writes through Publisher objects built once
//   from the settings: a ControlSocketPublisher per control socket (below)
//   and a GdnsdctlPublisher per gdnsdctl command (gdnsd_publisher.h).
// - Writing: one UPDATE per control socket carrying every value (add: class
//   IN TXT TTL 0; delete: class NONE TXT with the exact value, so values
//   another order published stay). Its zone section names the zone the
//   control socket itself reports for the owner, asked as nsupdate asks (an
//   SOA query, once per owner and publisher: a pass's UPDATEs at one owner
//   reuse the answer); when the socket does not tell, the owner itself, which
//   the plugin accepts (it takes its claimed apex or any name above). The UPDATE
//   is TSIG-signed and the answer's TSIG verified (tsig_signer.h) before its
//   rcode is believed: an unsigned NOERROR proves nothing.
// - Errors say which socket, the rcode and TSIG error by name, and the likely
//   fix. unpublish() tries every socket before it reports; publish() too, so
//   the operator sees every broken socket at once (the caller unpublishes).
//   A verified non-NOERROR answer travels in DnsError::rcode() too, so
//   that the checks before ordering (precheck.h) can give advice by rcode.
// - Waiting: every server (check_servers, or the NS set's addresses) is
//   polled in its own thread (the caller's when there is one server) with RD
//   clear until it answers NOERROR with all values, or the propagation
//   deadline passes; each thread writes only its own result slot, read after
//   join. The error names each server still
//   lacking a value, the values and what it answered last.
// - Thread safety: settings_ is never written after construction; every call
//   builds its own ldns objects, sockets and TSIG signer.
#include "issuer/dns/challenge_dns.h"

#include <algorithm>
#include <map>
#include <thread>

#include "common/lock_guarded.h"
#include "common/log.h"
#include "common/tsig_signer.h"
#include "issuer/dns/authoritative_servers.h"
#include "issuer/dns/dns_exchange.h"
#include "issuer/dns/gdnsd_publisher.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxCnameHops = 8;

std::string chain_text(const std::vector<DnsName>& chain) {
    std::string out;
    for (const DnsName& name : chain) {
        out += (out.empty() ? "" : " -> ") + name.text();
    }
    return out;
}

std::string values_text(const std::vector<std::string>& values) {
    std::string out;
    for (const std::string& v : values) {
        out += (out.empty() ? "" : ", ") + quoted(v);
    }
    return out;
}

std::string describe_skew(std::int64_t skew) {
    if (skew == 0) {
        return "the same time";
    }
    std::int64_t magnitude = skew < 0 ? -skew : skew;
    return std::to_string(magnitude) + " s " + (skew > 0 ? "ahead of" : "behind");
}

// What to tell the operator about an rcode other than NOERROR, after the
// answer's TSIG verified (or the answer carried no TSIG).
std::string rcode_advice(ldns_pkt_rcode rcode, const DnsName& owner, const DnsName& zone,
                         const DnsName& key) {
    switch (rcode) {
        case LDNS_RCODE_REFUSED:
            return "key " + key.text() + " not granted for " + owner.text() +
                   ": grant it in the plugin's configuration, or check that the plugin serves " +
                   owner.text() +
                   "; with the grant in place, named's log names the plugin's reason (a full "
                   "replay memory refuses every signed message for a while: see replay-memory)";
        case LDNS_RCODE_NOTAUTH:
            return "it is not authoritative for zone " + zone.text() + ": check that " +
                   owner.text() + " lies in a zone the plugin serves";
        case LDNS_RCODE_NOTZONE:
            return owner.text() + " lies outside zone " + zone.text();
        case LDNS_RCODE_SERVFAIL:
            return "it failed to apply the update: see its log";
        case LDNS_RCODE_FORMERR:
            return "it could not parse the update";
        case LDNS_RCODE_NOTIMPL:
            return "it does not take UPDATEs: is it really the plugin's control socket?";
        default:
            return "see its log";
    }
}

std::string tsig_error_advice(std::uint16_t error, const DnsName& key,
                              std::optional<std::int64_t> skew) {
    switch (error) {
        case 16:  // BADSIG
            return "the secret of key " + key.text() +
                   " differs from the plugin's: copy the same key file to both";
        case 17:  // BADKEY
            return "key " + key.text() + " is not in the plugin's keyring (or has another " +
                   "algorithm there): add it to the keys file the plugin reads, or name a key " +
                   "it has";
        case 18:  // BADTIME
            return "clocks differ" +
                   (skew
                        ? ": the control socket's clock is " + describe_skew(*skew) + " this host's"
                        : std::string()) +
                   ", more than the " + std::to_string(kTsigFudgeSeconds) +
                   " s TSIG allows: synchronise both clocks (NTP)";
        case 21:  // BADALG
            return "the plugin does not accept the algorithm of key " + key.text();
        default:
            return "see the control socket's log";
    }
}

std::string join_failures(const std::vector<std::string>& failures, std::size_t total,
                          const char* what) {
    if (total == 1) {
        return failures.front();
    }
    std::string out =
        std::to_string(failures.size()) + " of " + std::to_string(total) + " " + what + " failed: ";
    for (std::size_t i = 0; i < failures.size(); ++i) {
        out += (i == 0 ? "" : "; ") + failures[i];
    }
    return out;
}

struct ProbeResult {
    bool served = false;
    std::vector<std::string> missing;
    std::string last;  // what the server answered last, "answered NXDOMAIN"
};

}  // namespace

std::vector<std::string> txt_values_in_answer(const ldns_pkt* reply, const DnsName& owner) {
    std::vector<std::string> out;
    for (const ldns_rr* rr : rrs_of_type(ldns_pkt_answer(reply), LDNS_RR_TYPE_TXT)) {
        std::optional<DnsName> rr_owner = from_ldns_dname(ldns_rr_owner(rr));
        if (rr_owner && *rr_owner == owner) {
            out.push_back(txt_value(rr));
        }
    }
    return out;
}

CnameHop cname_in_answer(const ldns_pkt* reply, const DnsName& name) {
    CnameHop hop;
    for (const ldns_rr* rr : rrs_of_type(ldns_pkt_answer(reply), LDNS_RR_TYPE_CNAME)) {
        std::optional<DnsName> owner = from_ldns_dname(ldns_rr_owner(rr));
        if (!owner || *owner != name) {
            continue;
        }
        hop.target = from_ldns_dname(ldns_rr_rdf(rr, 0), &hop.printed);
        hop.unusable = !hop.target;
        break;
    }
    return hop;
}

DnsName ChallengeDns::challenge_name(const DnsName& zone) const {
    if (settings_.resolver.addr_len == 0) {
        throw DnsError(zone.text() +
                       ": no DNS resolver configured to follow _acme-challenge "
                       "CNAMEs with");
    }
    DnsName first;
    try {
        first = zone.child("_acme-challenge");
    } catch (const std::invalid_argument& e) {
        throw DnsError(zone.text() + ": no room for _acme-challenge: " + e.what());
    }
    std::vector<DnsName> chain{first};
    // Each pass adds one hop and ends by kMaxCnameHops + 1 at the latest.
    for (;;) {
        const DnsName& current = chain.back();
        DnsReply reply;
        try {
            reply = query(settings_.resolver, current, LDNS_RR_TYPE_CNAME,
                          /*recursion_desired=*/true, settings_.timeout);
        } catch (const ExchangeError& e) {
            throw DnsError(first.text() + ": resolver " + e.what() + " (asked CNAME " +
                           current.fqdn() + ")");
        }
        ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
        if (rcode == LDNS_RCODE_NXDOMAIN) {
            break;
        }
        if (rcode != LDNS_RCODE_NOERROR) {
            std::string hint =
                rcode == LDNS_RCODE_REFUSED
                    ? " (does the resolver serve this host, with recursion?)"
                    : (rcode == LDNS_RCODE_SERVFAIL ? " (is the name's zone reachable?)" : "");
            throw DnsError(first.text() + ": resolver " + settings_.resolver.to_string() +
                           " answered " + rcode_name(rcode) + " to CNAME " + current.fqdn() +
                           (chain.size() > 1 ? " (chain so far: " + chain_text(chain) + ")" : "") +
                           hint);
        }
        const CnameHop hop = cname_in_answer(reply.packet.get(), current);
        if (hop.unusable) {
            throw DnsError(first.text() + ": " + current.text() + " is a CNAME to " + hop.printed +
                           ", a name acmezone cannot write to");
        }
        const std::optional<DnsName>& target = hop.target;
        if (!target) {
            break;  // NODATA: no CNAME here
        }
        bool loops = std::find(chain.begin(), chain.end(), *target) != chain.end();
        chain.push_back(*target);
        if (loops) {
            throw DnsError(first.text() + ": CNAME loop: " + chain_text(chain));
        }
        if (chain.size() - 1 > kMaxCnameHops) {
            throw DnsError(first.text() + ": CNAME chain longer than " +
                           std::to_string(kMaxCnameHops) + ": " + chain_text(chain));
        }
    }
    if (chain.size() > 1) {
        log_debug(chain_text(chain), ": challenge values go to ", chain.back().text());
    }
    return chain.back();
}

namespace {

// The zone to name in the UPDATE's zone section (see the design notes), and
// whether the control socket's answer said so (else: the owner itself).
std::pair<DnsName, bool> zone_for_update(const Endpoint& control, const DnsName& owner,
                                         milliseconds timeout) {
    DnsReply reply;
    try {
        reply = query(control, owner, LDNS_RR_TYPE_SOA, /*recursion_desired=*/false, timeout);
    } catch (const ExchangeError& e) {
        if (e.kind() == ExchangeError::Kind::refused) {
            throw DnsError("control socket " + std::string(e.what()));
        }
        log_debug("control socket ", control.to_string(), ": no zone from an SOA query for ",
                  owner.text(), " (", e.what(), "); naming ", owner.text(), " itself");
        return {owner, false};
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
    if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN) {
        if (auto zone = zone_in_soa_answer(reply.packet.get(), owner)) {
            return {*zone, true};
        }
    }
    return {owner, false};
}

// One signed UPDATE naming `zone` to one control socket; throws DnsError on
// anything but a verified NOERROR.
void send_update(const DnsSettings& settings, const Endpoint& control, const DnsName& zone,
                 const DnsName& owner, const std::vector<std::string>& values, bool add) {
    const std::string where = "control socket " + control.to_string();

    LdnsRrList updates(ldns_rr_list_new());
    if (!updates) {
        throw std::bad_alloc();
    }
    for (const std::string& value : values) {
        LdnsRr rr;
        try {
            rr = make_txt_rr(owner, value, add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE, 0);
        } catch (const std::invalid_argument& e) {
            throw DnsError(owner.text() + ": cannot write value " + quoted(value) + ": " +
                           e.what());
        }
        if (!ldns_rr_list_push_rr(updates.get(), rr.get())) {
            throw std::bad_alloc();
        }
        rr.release();  // now owned by `updates`
    }
    LdnsPkt update(ldns_update_pkt_new(to_ldns_dname(zone).release(), LDNS_RR_CLASS_IN, nullptr,
                                       updates.get(), nullptr));
    if (!update) {
        throw std::bad_alloc();
    }
    ldns_pkt_set_rd(update.get(), false);
    ldns_pkt_set_id(update.get(), random_message_id());

    TsigSigner signer(settings.key);
    TsigSigner::Signed request = signer.sign(update.get());
    DnsReply reply;
    try {
        reply = exchange(control, request.wire, settings.timeout);
    } catch (const ExchangeError& e) {
        throw DnsError("control socket " + std::string(e.what()) + " (UPDATE for " + owner.text() +
                       ")");
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
    const std::string answered = where + " answered " + rcode_name(rcode) + " for " + owner.text();
    const DnsName& key = settings.key.name;
    TsigSigner::Verdict verdict = signer.check_answer(reply.packet.get(), reply.wire, request);
    switch (verdict.kind) {
        case TsigSigner::Verdict::Kind::tsig_error:
            throw DnsError(answered + " with TSIG error " + tsig_error_name(verdict.tsig_error) +
                           " (" + tsig_error_advice(verdict.tsig_error, key, verdict.skew) + ")");
        case TsigSigner::Verdict::Kind::unsigned_answer:
            if (rcode != LDNS_RCODE_NOERROR) {
                throw DnsError(answered + " (unsigned answer; " +
                               rcode_advice(rcode, owner, zone, key) + ")");
            }
            throw DnsError(answered +
                           " but did not sign the answer with TSIG, so it cannot be "
                           "trusted: is it really the plugin's control socket?");
        case TsigSigner::Verdict::Kind::other_key:
            throw DnsError(answered + " signed with key " + verdict.detail + " instead of " +
                           key.text() + ": cannot trust it");
        case TsigSigner::Verdict::Kind::bad_mac:
            throw DnsError(answered + " with a TSIG signature that does not verify with key " +
                           key.text() + " (is its secret the same on both sides?)");
        case TsigSigner::Verdict::Kind::bad_time:
            throw DnsError(answered + " signed at a time " +
                           (verdict.skew ? describe_skew(*verdict.skew) : "unknown relative to") +
                           " this host's clock: clocks differ, synchronise them (NTP)");
        case TsigSigner::Verdict::Kind::ok:
            break;
    }
    if (rcode != LDNS_RCODE_NOERROR) {
        throw DnsError(answered + " (" + rcode_advice(rcode, owner, zone, key) + ")", rcode);
    }
    log_debug(where, ": ", add ? "added " : "deleted ", values.size(), " TXT value(s) at ",
              owner.text(), " (zone ", zone.text(), ")");
}

// The plugin's control socket as a Publisher: send_update() above. The zone
// the socket named for an owner is kept for the publisher's life (a pass):
// the owner's values are added and removed, and the checks before ordering
// add and remove a test value there, all naming the same zone, so one SOA
// query serves them all.
class ControlSocketPublisher final : public Publisher {
  public:
    ControlSocketPublisher(const DnsSettings& settings, Endpoint control)
        : settings_(settings), control_(control) {}
    std::string name() const override { return "control socket " + control_.to_string(); }
    void publish(const DnsName& owner, const std::vector<std::string>& values) const override {
        send_update(settings_, control_, zone_of(owner), owner, values, /*add=*/true);
    }
    void unpublish(const DnsName& owner, const std::vector<std::string>& values) const override {
        send_update(settings_, control_, zone_of(owner), owner, values, /*add=*/false);
    }

  private:
    DnsName zone_of(const DnsName& owner) const {
        {
            auto zones = zones_.lock();
            if (auto known = zones->find(owner); known != zones->end()) {
                return known->second;
            }
        }
        auto [zone, answered] = zone_for_update(control_, owner, settings_.timeout);
        if (answered) {
            zones_.lock()->emplace(owner, zone);
        }
        return zone;
    }

    const DnsSettings& settings_;  // owned by the ChallengeDns that owns this
    Endpoint control_;
    mutable LockGuarded<std::map<DnsName, DnsName>> zones_;  // owner -> zone, as answered
};

void update_everywhere(const std::vector<std::unique_ptr<Publisher>>& publishers,
                       const DnsName& owner, const std::vector<std::string>& values, bool add,
                       const char* what) {
    if (values.empty()) {
        return;
    }
    if (publishers.empty()) {
        throw DnsError(owner.text() + ": no control socket or gdnsdctl configured to write to");
    }
    std::vector<std::string> failures;
    std::optional<int> rcode;
    for (const auto& publisher : publishers) {
        try {
            if (add) {
                publisher->publish(owner, values);
            } else {
                publisher->unpublish(owner, values);
            }
        } catch (const DnsError& e) {
            failures.push_back(e.what());
            rcode = e.rcode();
        } catch (const std::exception& e) {
            failures.push_back(publisher->name() + ": " + e.what());
        }
    }
    if (failures.empty()) {
        return;
    }
    std::string message = join_failures(failures, publishers.size(), what);
    if (publishers.size() == 1 && rcode) {
        throw DnsError(message, *rcode);
    }
    throw DnsError(message);
}

ProbeResult probe_until_served(const DnsSettings& settings, const Endpoint& server,
                               const DnsName& owner, const std::vector<std::string>& values,
                               Clock::time_point deadline) {
    ProbeResult result;
    result.missing = values;
    result.last = "was not asked";
    const milliseconds interval = std::max(settings.propagation_interval, milliseconds(10));
    const std::string prefix = server.to_string() + " ";
    bool answered = false;  // the server answered at least once
    // Each pass asks once; the loop ends by `deadline` (the first pass always runs).
    for (bool first = true;; first = false) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
        milliseconds attempt = std::min(settings.timeout, left);
        if (attempt <= milliseconds::zero()) {
            if (!first) {
                return result;
            }
            attempt = settings.timeout;
        }
        try {
            DnsReply reply =
                query(server, owner, LDNS_RR_TYPE_TXT, /*recursion_desired=*/false, attempt);
            ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply.packet.get());
            std::vector<std::string> have = txt_values_in_answer(reply.packet.get(), owner);
            std::sort(have.begin(), have.end());  // servers rotate RRsets; report stably
            result.missing.clear();
            for (const std::string& v : values) {
                if (std::find(have.begin(), have.end(), v) == have.end()) {
                    result.missing.push_back(v);
                }
            }
            if (rcode == LDNS_RCODE_NOERROR && result.missing.empty()) {
                result.served = true;
                return result;
            }
            if (rcode != LDNS_RCODE_NOERROR) {
                result.missing = values;
            }
            result.last = "answered " + rcode_name(rcode);
            if (rcode == LDNS_RCODE_NOERROR) {
                result.last += have.empty() ? " without TXT records" : " with " + values_text(have);
            }
            if (!ldns_pkt_aa(reply.packet.get())) {
                result.last += ", not authoritatively";
            }
            answered = true;
        } catch (const ExchangeError& e) {
            // A last attempt cut short by the deadline says less than an
            // earlier answer: keep that one.
            bool cut_short = e.kind() == ExchangeError::Kind::timeout && attempt < settings.timeout;
            if (!(cut_short && answered)) {
                std::string what = e.what();
                result.last = what.starts_with(prefix) ? what.substr(prefix.size()) : what;
            }
        }
        if (Clock::now() + interval >= deadline) {
            return result;
        }
        std::this_thread::sleep_for(interval);
    }
}

}  // namespace

ChallengeDns::ChallengeDns(DnsSettings settings) : settings_(std::move(settings)) {
    if (settings_.timeout <= milliseconds::zero()) {
        throw std::invalid_argument("DNS timeout must be positive");
    }
    for (const Endpoint& control : settings_.controls) {
        publishers_.push_back(std::make_unique<ControlSocketPublisher>(settings_, control));
    }
    for (const std::vector<std::string>& argv : settings_.gdnsdctl) {
        publishers_.push_back(std::make_unique<GdnsdctlPublisher>(argv, settings_.command_timeout));
    }
}

const char* ChallengeDns::publishers_word() const {
    return settings_.gdnsdctl.empty() ? "control sockets" : "publishers";
}

void ChallengeDns::publish(const DnsName& owner, const std::vector<std::string>& values) const {
    update_everywhere(publishers_, owner, values, /*add=*/true, publishers_word());
}

void ChallengeDns::unpublish(const DnsName& owner, const std::vector<std::string>& values) const {
    update_everywhere(publishers_, owner, values, /*add=*/false, publishers_word());
}

void ChallengeDns::wait_until_served(const DnsName& owner,
                                     const std::vector<std::string>& values) const {
    if (values.empty()) {
        return;
    }
    const Clock::time_point start = Clock::now();
    std::vector<Endpoint> servers = settings_.check_servers;
    if (servers.empty()) {
        if (settings_.resolver.addr_len == 0) {
            throw DnsError(owner.text() +
                           ": neither check servers nor a DNS resolver configured "
                           "to find the authoritative servers with");
        }
        try {
            servers =
                find_authoritative_servers(owner, settings_.resolver, settings_.timeout).servers;
        } catch (const DnsError& e) {
            throw DnsError(owner.text() + ": cannot find its authoritative servers: " + e.what());
        }
    }
    const Clock::time_point deadline = start + settings_.propagation_timeout;
    std::vector<ProbeResult> results(servers.size());
    auto probe = [this, &results, &servers, &owner, &values, deadline](std::size_t i) {
        try {
            results[i] = probe_until_served(settings_, servers[i], owner, values, deadline);
        } catch (const std::exception& e) {
            results[i].last = std::string("failed: ") + e.what();
        }
    };
    if (servers.size() == 1) {
        probe(0);  // one server: no thread
    } else {
        std::vector<std::jthread> probes;
        probes.reserve(servers.size());
        for (std::size_t i = 0; i < servers.size(); ++i) {
            probes.emplace_back(probe, i);
        }
    }  // joined here: results are complete
    std::vector<std::string> failures;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        const ProbeResult& r = results[i];
        if (r.served) {
            continue;
        }
        failures.push_back(servers[i].to_string() + " does not serve " +
                           (r.missing.size() == 1 ? "value " : "values ") + values_text(r.missing) +
                           " after " +
                           describe_duration(std::chrono::duration_cast<milliseconds>(
                               settings_.propagation_timeout)) +
                           " (" + r.last + ")");
    }
    if (!failures.empty()) {
        std::string message = owner.text() + ": ";
        for (std::size_t i = 0; i < failures.size(); ++i) {
            message += (i == 0 ? "" : "; ") + failures[i];
        }
        throw DnsError(message);
    }
    log_debug(owner.text(), ": ", servers.size(), " server(s) serve all ", values.size(),
              " value(s) after ",
              describe_duration(std::chrono::duration_cast<milliseconds>(Clock::now() - start)));
}

}  // namespace acmezone::issuer
