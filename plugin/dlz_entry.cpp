// The DLZ entry points: the only symbols acmezone_dlz.so exports.
//
// Each function is a thin, exception-proof adapter from named's C calls to
// the core (core.h): every entry point catches every exception and maps it to
// ISC_R_FAILURE with a log line, so nothing ever unwinds into named.
//
// What named sees:
//  - dlz_findzonedb: the name parsed from named's presentation format first
//    (query_name.h: "x\.example" is one label); SUCCESS for a claimed apex;
//    NOTFOUND when the name lies
//    inside a claimed zone (named then asks the shorter names, longest
//    first); NOMORE when neither the name nor any ancestor is claimed, which
//    ends named's walk early. A few hash look-ups, no allocation.
//  - dlz_lookup: the unexpired TXT values at the name, as quoted master-file
//    text. The apex always exists (dlz_authority adds SOA and NS there), an
//    empty non-terminal of a challenge-zone exists (NODATA), anything else
//    without values is NOTFOUND (NXDOMAIN).
//  - dlz_authority: SOA (soa.h: MINIMUM = ttl, so misses are cached no
//    longer than values live) and one NS per configured nameserver.
//  - dlz_allowzonexfr: DEFAULT for claimed apexes (named's allow-transfer
//    decides), NOTFOUND otherwise; dlz_allnodes: SOA, NS and every value.
// Thread-safe (declared so in dlz_version): readers use the store's
// immutable snapshots and never lock against writers.
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/dns_name.h"
#include "common/log.h"
#include "plugin/core.h"
#include "plugin/dlz_abi.h"
#include "plugin/query_name.h"
#include "plugin/soa.h"

#define ACMEZONE_EXPORT extern "C" __attribute__((visibility("default")))

namespace acmezone::plugin {
namespace {

using namespace dlz;

struct Instance {
    std::string dlzname;
    CoreRef core;
    log_t* log = nullptr;
    dns_sdlz_putrr_t* putrr = nullptr;
    dns_sdlz_putnamedrr_t* putnamedrr = nullptr;
};

// Named's log function, kept for the common log sink (process-wide: the
// function is named's own and outlives every instance).
log_t* g_named_log = nullptr;

void route_log_to_named(log_t* fn) {
    if (fn == nullptr || g_named_log == fn) {
        return;
    }
    g_named_log = fn;
    set_log_sink([fn](LogLevel level, const std::string& line) {
        int isc = kLogInfo;
        switch (level) {
            case LogLevel::debug:
                isc = kLogDebug1;
                break;
            case LogLevel::info:
                isc = kLogInfo;
                break;
            case LogLevel::warning:
                isc = kLogWarning;
                break;
            case LogLevel::error:
                isc = kLogError;
                break;
        }
        fn(isc, "%s", line.c_str());
    });
}

// Master-file text of one TXT record: each string quoted, '"' and '\'
// escaped, anything outside printable ASCII as \DDD.
std::string txt_rdata(const TxtData& data) {
    std::string out;
    for (const auto& s : data) {
        if (!out.empty()) {
            out += ' ';
        }
        out += '"';
        for (char ch : s) {
            auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += ch;
            } else if (c < 0x20 || c > 0x7e) {
                char buf[5];
                std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += ch;
            }
        }
        out += '"';
    }
    return out;
}

std::optional<DnsName> zone_name(const Core& core, const char* zone) {
    auto z = DnsName::try_parse(zone);
    if (!z || !core.claims().is_apex(*z)) {
        return std::nullopt;
    }
    return z;
}

isc_result_t put_authority(Instance& inst, const DnsName& apex, dns_sdlzlookup_t* lookup) {
    Core& core = *inst.core;
    const PluginConfig& cfg = core.config();
    SoaRecord soa = make_soa(cfg, apex, core.store().snapshot()->serial);
    isc_result_t r = inst.putrr(lookup, "SOA", cfg.ttl, soa.rdata_text().c_str());
    if (r != kSuccess) {
        return r;
    }
    for (const auto& ns : cfg.nameservers) {
        r = inst.putrr(lookup, "NS", cfg.ttl, ns.fqdn().c_str());
        if (r != kSuccess) {
            return r;
        }
    }
    return kSuccess;
}

isc_result_t failed(const char* where, const char* what) {
    log_error("acmezone: ", where, ": ", what);
    return kFailure;
}

// Runs one entry point's body; any exception becomes ISC_R_FAILURE with a
// log line naming the entry point. Nothing may unwind into named.
template <typename Body>
isc_result_t guarded(const char* entry, Body&& body) noexcept {
    try {
        return body();
    } catch (const std::exception& e) {
        return failed(entry, e.what());
    } catch (...) {
        return failed(entry, "unknown exception");
    }
}

}  // namespace
}  // namespace acmezone::plugin

using namespace acmezone;
using namespace acmezone::plugin;

ACMEZONE_EXPORT int dlz_version(unsigned int* flags) {
    *flags |= dlz::kFlagThreadSafe;
    return dlz::kDlzVersion;
}

ACMEZONE_EXPORT isc_result_t dlz_create(const char* dlzname, unsigned int argc, char* argv[],
                                        void** dbdata, ...) {
    // The (name, function) pairs first: va_arg cannot be used inside the
    // guarded lambda, and reading them throws nothing.
    log_t* named_log = nullptr;
    dns_sdlz_putrr_t* putrr = nullptr;
    dns_sdlz_putnamedrr_t* putnamedrr = nullptr;
    va_list ap;
    va_start(ap, dbdata);
    // Bounded by named's NULL terminator; the four names are all we know.
    for (const char* helper = va_arg(ap, const char*); helper != nullptr;
         helper = va_arg(ap, const char*)) {
        void* fn = va_arg(ap, void*);
        if (std::strcmp(helper, "log") == 0) {
            named_log = reinterpret_cast<log_t*>(fn);
        } else if (std::strcmp(helper, "putrr") == 0) {
            putrr = reinterpret_cast<dns_sdlz_putrr_t*>(fn);
        } else if (std::strcmp(helper, "putnamedrr") == 0) {
            putnamedrr = reinterpret_cast<dns_sdlz_putnamedrr_t*>(fn);
        }
        // "writeable_zone" is for named-side dynamic updates: not used.
    }
    va_end(ap);
    return guarded("dlz_create", [&]() -> isc_result_t {
        auto inst = std::make_unique<Instance>();
        inst->dlzname = dlzname ? dlzname : "";
        inst->log = named_log;
        inst->putrr = putrr;
        inst->putnamedrr = putnamedrr;
        route_log_to_named(inst->log);
        if (inst->putrr == nullptr || inst->putnamedrr == nullptr) {
            return failed("dlz_create", "named did not pass putrr/putnamedrr (DLZ ABI mismatch?)");
        }
        if (argc != 2) {
            log_error("acmezone: dlz \"", inst->dlzname, "\": expected database \"dlopen ",
                      argc > 0 ? argv[0] : "acmezone_dlz.so",
                      " /etc/acmezone/plugin.conf\" (exactly one argument, the configuration "
                      "file), got ",
                      argc > 0 ? argc - 1 : 0);
            return dlz::kFailure;
        }
        inst->core = CoreRef::acquire(argv[1]);
        const Core& core = *inst->core;
        log_info("acmezone: dlz \"", inst->dlzname, "\" ready (", core.config_path(), ": ",
                 core.config().zones.size(), " zone(s), ", core.config().challenge_zones.size(),
                 " challenge-zone(s), serial ", inst->core->store().snapshot()->serial, ", ",
                 core.references(), " instance(s) share the core)");
        *dbdata = inst.release();
        return dlz::kSuccess;
    });
}

ACMEZONE_EXPORT void dlz_destroy(void* dbdata) {
    try {
        std::unique_ptr<Instance> inst(static_cast<Instance*>(dbdata));
        if (inst) {
            log_info("acmezone: dlz \"", inst->dlzname, "\" stopping");
        }
    } catch (const std::exception& e) {
        failed("dlz_destroy", e.what());
    } catch (...) {
        failed("dlz_destroy", "unknown exception");
    }
}

ACMEZONE_EXPORT isc_result_t dlz_findzonedb(void* dbdata, const char* name,
                                            dns_clientinfomethods_t* /*methods*/,
                                            dns_clientinfo_t* /*clientinfo*/) {
    return guarded("dlz_findzonedb", [&]() -> isc_result_t {
        auto* inst = static_cast<Instance*>(dbdata);
        // named's presentation format, escapes and all (query_name.h).
        char buf[1024];
        QueryName query;
        if (!parse_query_name(name, buf, &query)) {
            return dlz::kNoMore;  // not a name we could serve (too long, malformed)
        }
        switch (match_query(inst->core->claims(), query)) {
            case ZoneClaims::Match::apex:
                return dlz::kSuccess;
            case ZoneClaims::Match::inside:
                return dlz::kNotFound;
            case ZoneClaims::Match::none:
                return dlz::kNoMore;
        }
        return dlz::kNoMore;
    });
}

ACMEZONE_EXPORT isc_result_t dlz_lookup(const char* zone, const char* name, void* dbdata,
                                        dns_sdlzlookup_t* lookup,
                                        dns_clientinfomethods_t* /*methods*/,
                                        dns_clientinfo_t* /*clientinfo*/) {
    // Never touch methods/clientinfo: during an UPDATE clientinfo->data is
    // NULL and methods->sourceip would abort named.
    return guarded("dlz_lookup", [&]() -> isc_result_t {
        auto* inst = static_cast<Instance*>(dbdata);
        Core& core = *inst->core;
        auto apex = zone_name(core, zone);
        if (!apex) {
            return dlz::kNotFound;
        }
        bool at_apex = std::strcmp(name, "@") == 0;
        std::optional<DnsName> owner;
        if (at_apex) {
            owner = apex;
        } else {
            owner = DnsName::try_parse(std::string(name) + "." + apex->text());
            if (!owner) {
                return dlz::kNotFound;  // not a name we could ever hold
            }
        }
        auto snap = core.store().snapshot();
        auto values = snap->values_at(*owner, Clock::now());
        for (const TxtValue& v : values) {
            isc_result_t r =
                inst->putrr(lookup, "TXT", core.config().ttl, txt_rdata(v.data).c_str());
            if (r != dlz::kSuccess) {
                return r;
            }
        }
        if (at_apex || !values.empty()) {
            return dlz::kSuccess;
        }
        if (core.claims().is_challenge_zone(*apex) && snap->has_descendants(*owner)) {
            return dlz::kSuccess;  // empty non-terminal: NODATA, not NXDOMAIN
        }
        return dlz::kNotFound;
    });
}

ACMEZONE_EXPORT isc_result_t dlz_authority(const char* zone, void* dbdata,
                                           dns_sdlzlookup_t* lookup) {
    return guarded("dlz_authority", [&]() -> isc_result_t {
        auto* inst = static_cast<Instance*>(dbdata);
        auto apex = zone_name(*inst->core, zone);
        if (!apex) {
            return dlz::kNotFound;
        }
        return put_authority(*inst, *apex, lookup);
    });
}

ACMEZONE_EXPORT isc_result_t dlz_allowzonexfr(void* dbdata, const char* name,
                                              const char* /*client*/) {
    return guarded("dlz_allowzonexfr", [&]() -> isc_result_t {
        auto* inst = static_cast<Instance*>(dbdata);
        if (!zone_name(*inst->core, name)) {
            return dlz::kNotFound;
        }
        return dlz::kDefault;  // named's allow-transfer decides
    });
}

ACMEZONE_EXPORT isc_result_t dlz_allnodes(const char* zone, void* dbdata,
                                          dns_sdlzallnodes_t* allnodes) {
    return guarded("dlz_allnodes", [&]() -> isc_result_t {
        auto* inst = static_cast<Instance*>(dbdata);
        Core& core = *inst->core;
        auto apex = zone_name(core, zone);
        if (!apex) {
            return dlz::kNotFound;
        }
        const PluginConfig& cfg = core.config();
        auto snap = core.store().snapshot();
        std::string owner = apex->fqdn();
        SoaRecord soa = make_soa(cfg, *apex, snap->serial);
        isc_result_t r =
            inst->putnamedrr(allnodes, owner.c_str(), "SOA", cfg.ttl, soa.rdata_text().c_str());
        for (const auto& ns : cfg.nameservers) {
            if (r == dlz::kSuccess) {
                r = inst->putnamedrr(allnodes, owner.c_str(), "NS", cfg.ttl, ns.fqdn().c_str());
            }
        }
        Clock::time_point now = Clock::now();
        snap->for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
            // Only names of this zone, not of a longer claimed zone inside it.
            if (r != dlz::kSuccess || !name.is_at_or_below(*apex) ||
                core.claims().apex_of(name) != apex) {
                return;
            }
            std::string text = name.fqdn();
            for (const TxtValue& v : values) {
                if (v.expires <= now) {
                    continue;
                }
                r = inst->putnamedrr(allnodes, text.c_str(), "TXT", cfg.ttl,
                                     txt_rdata(v.data).c_str());
                if (r != dlz::kSuccess) {
                    break;
                }
            }
        });
        return r;
    });
}
