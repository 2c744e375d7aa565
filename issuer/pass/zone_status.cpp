// See zone_status.h.
#include "issuer/pass/zone_status.h"

#include <algorithm>

#include "common/log.h"
#include "issuer/certs/cert_store.h"
#include "issuer/pass/cert_summary.h"
#include "issuer/pass/issuance.h"

namespace acmezone::issuer {
namespace {

// The certificate of `type` in the store: its certID, and its renewal time
// (the ARI window's pick when the issuing CA gave one, else renew-before).
ZoneStatus::Certificate certificate_of(const IssuerConfig& config, const ZoneStatus& st,
                                       const CertSummary& current) {
    const CertInfo& info = current.info;
    ZoneStatus::Certificate c;
    c.key_type = current.type;
    c.not_after = info.not_after;
    c.cert_id = current.cert_id;
    c.renew_at = renewal_time(st.zone, info.not_before, info.not_after, config.schedule);
    c.renew_basis = "renew-before";
    const AriState* a = c.cert_id.empty() ? nullptr : st.saved.ari_for(c.cert_id);
    if (config.ari && a && a->renew_at && a->directory == st.issuing_ca(config)) {
        c.renew_at = a->renew_at;
        c.renew_basis = "ARI window";
    }
    return c;
}

// The renewal times of `st`'s certificates (one per configured key type),
// the earliest deciding, and its state.
void read_certificates(const IssuerConfig& config, const std::vector<CertSummary>& current,
                       ZoneStatus& st, SysTime now) {
    const DnsName& zone = st.zone;
    std::vector<std::string> want;
    for (const DnsName& n : certificate_names(zone)) {
        want.push_back(n.text());
    }
    std::sort(want.begin(), want.end());
    std::string lacking;  // configured key types with no certificate yet
    for (KeyType type : config.configured_key_types()) {
        const auto found = std::find_if(current.begin(), current.end(),
                                        [type](const CertSummary& c) { return c.type == type; });
        if (found == current.end()) {
            lacking += (lacking.empty() ? "" : " ") + std::string(to_string(type));
            continue;
        }
        ZoneStatus::Certificate c = certificate_of(config, st, *found);
        if (!st.renew_at || *c.renew_at < *st.renew_at) {
            st.renew_at = c.renew_at;
            st.renew_basis = c.renew_basis;
        }
        st.certs.push_back(std::move(c));
    }
    if (!st.renew_at) {  // no certificate of a configured type: the one there
        st.renew_at = renewal_time(zone, st.cert->not_before, st.cert->not_after, config.schedule);
        st.renew_basis = "renew-before";
    }
    if (!lacking.empty()) {
        // A key type added to the configuration: the set is made again now
        // (the types change together), not at renewal.
        st.renew_at = std::min(*st.renew_at, now);
        st.renew_basis = "no " + lacking + " certificate yet";
    }
    if (st.cert->dns_names != want) {
        st.state = CertState::invalid;
        st.problem = "names do not match {" + zone.text() + ", *." + zone.text() + "}";
    } else if (now >= st.cert->not_after) {
        st.state = CertState::expired;
    } else if (now >= *st.renew_at) {
        st.state = CertState::due;
    } else {
        st.state = CertState::valid;
    }
}

// Wanted now unless valid; never before the backoff allows.
void schedule_next(ZoneStatus& st, SysTime now) {
    SysTime wanted = st.state == CertState::valid ? *st.renew_at : now;
    st.next_action = st.state == CertState::missing ? "issue" : "renew";
    if (!st.saved.resume_order.empty()) {
        wanted = now;  // an order a crash left: resume or abandon it now
        st.next_action = "resume";
    }
    if (st.saved.retry_at && *st.saved.retry_at > wanted) {
        wanted = *st.saved.retry_at;
        st.next_action = "retry";
    }
    st.next_attempt = wanted;
}

}  // namespace

std::string_view to_string(CertState s) {
    switch (s) {
        case CertState::valid:
            return "valid";
        case CertState::due:
            return "due";
        case CertState::expired:
            return "expired";
        case CertState::missing:
            return "missing";
        case CertState::invalid:
            break;
    }
    return "invalid";
}

ZoneStatus zone_status(const IssuerConfig& config, const DnsName& zone, SysTime now,
                       SummaryUse use) {
    ZoneStatus st;
    st.zone = zone;
    const ZoneStateStore states(config.state_dir);
    st.saved = states.load(zone);
    try {
        // The certificates as the state file summarises them, or each file
        // read and parsed once when they changed (cert_summary.h).
        CurrentRead current = read_current(CertStore(config.certs_dir), zone, st.saved.current);
        if (current.keep && use == SummaryUse::read_and_keep) {
            st.saved.current = current.summary;
            try {
                states.save(zone, st.saved);
            } catch (const std::exception& e) {
                log_warning(zone.text(), ": cannot keep its certificates' summary: ", e.what());
            }
        }
        st.current = std::move(current.summary);
        st.cert = st.current.top;
        if (!st.cert) {
            st.state = CertState::missing;
        } else {
            read_certificates(config, st.current.certs, st, now);
        }
    } catch (const std::exception& e) {
        st.state = CertState::invalid;
        st.problem = e.what();
    }
    schedule_next(st, now);
    return st;
}

}  // namespace acmezone::issuer
