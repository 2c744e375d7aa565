// See ct.h.
#include "issuer/certs/ct.h"

#include <openssl/ct.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <span>

#include "common/base64.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {
namespace {

void sct_list_free(STACK_OF(SCT) * s) {
    SCT_LIST_free(s);
}
using SctListPtr = std::unique_ptr<STACK_OF(SCT), OpensslDeleter<sct_list_free>>;
using PolicyCtxPtr = std::unique_ptr<CT_POLICY_EVAL_CTX, OpensslDeleter<CT_POLICY_EVAL_CTX_free>>;

X509Ptr parse_pem(const std::string& pem, const char* what) {
    BioPtr bio = memory_bio(pem);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        throw CtError(openssl_error(std::string("the ") + what + " does not parse"));
    }
    return cert;
}

// The leaf's SCT list; empty when it has none.
SctListPtr leaf_scts(X509* leaf) {
    int crit = 0;
    SctListPtr list(
        static_cast<STACK_OF(SCT)*>(X509_get_ext_d2i(leaf, NID_ct_precert_scts, &crit, nullptr)));
    if (!list && crit == -2) {
        throw CtError("the certificate holds its SCT list extension more than once");
    }
    if (!list && crit != -1) {
        throw CtError(openssl_error("the certificate's SCT list extension does not parse"));
    }
    return list;
}

SctStatus status_of(const SCT* sct) {
    switch (SCT_get_validation_status(sct)) {
        case SCT_VALIDATION_STATUS_VALID:
            return SctStatus::verified;
        case SCT_VALIDATION_STATUS_INVALID:
            return SctStatus::invalid;
        case SCT_VALIDATION_STATUS_UNKNOWN_LOG:
            return SctStatus::unknown_log;
        default:
            return SctStatus::unverifiable;
    }
}

// Verifies `sct` against the listed logs (the leaf and its issuer set in `ctx`).
SctStatus verify(SCT* sct, const CT_POLICY_EVAL_CTX* ctx) {
    if (SCT_validate(sct, ctx) < 0) {
        throw CtError(openssl_error("verifying an SCT failed"));
    }
    return status_of(sct);
}

PolicyCtxPtr policy_ctx(X509* leaf, X509* issuer, const CtLogList& logs) {
    PolicyCtxPtr ctx(CT_POLICY_EVAL_CTX_new());
    if (!ctx || CT_POLICY_EVAL_CTX_set1_cert(ctx.get(), leaf) != 1 ||
        (issuer != nullptr && CT_POLICY_EVAL_CTX_set1_issuer(ctx.get(), issuer) != 1)) {
        throw CtError(openssl_error("CT_POLICY_EVAL_CTX"));
    }
    CT_POLICY_EVAL_CTX_set_shared_CTLOG_STORE(ctx.get(), logs.store());
    return ctx;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The host of an http(s) URL, lower-case, an IPv6 address with its brackets.
std::string url_host(std::string_view url) {
    const auto scheme = url.find("://");
    std::string_view rest = scheme == std::string_view::npos ? url : url.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    const auto at = rest.rfind('@');
    if (at != std::string_view::npos) {
        rest = rest.substr(at + 1);
    }
    if (!rest.empty() && rest.front() == '[') {
        return lower(std::string(rest.substr(0, rest.find(']') + 1)));
    }
    return lower(std::string(rest.substr(0, rest.find(':'))));
}

// 127.a.b.c, each part 1 to 3 digits.
bool is_ipv4_loopback(const std::string& host) {
    if (host.rfind("127.", 0) != 0) {
        return false;
    }
    int parts = 0;
    std::size_t start = 0;
    while (start <= host.size()) {
        const auto dot = std::min(host.find('.', start), host.size());
        const std::string part = host.substr(start, dot - start);
        if (part.empty() || part.size() > 3 ||
            part.find_first_not_of("0123456789") != std::string::npos) {
            return false;
        }
        ++parts;
        start = dot + 1;
    }
    return parts == 4;
}

}  // namespace

std::string_view to_string(CtMode m) {
    switch (m) {
        case CtMode::require:
            return "require";
        case CtMode::warn:
            return "warn";
        case CtMode::off:
            break;
    }
    return "off";
}

std::optional<CtMode> ct_mode_from_name(std::string_view name) {
    for (CtMode m : {CtMode::require, CtMode::warn, CtMode::off}) {
        if (name == to_string(m)) {
            return m;
        }
    }
    return std::nullopt;
}

bool is_local_test_ca(std::string_view directory_url) {
    const std::string host = url_host(directory_url);
    const std::string_view suffix = ".localhost";
    return host == "localhost" || host == "[::1]" || is_ipv4_loopback(host) ||
           (host.size() > suffix.size() && host.ends_with(suffix));
}

CtMode default_ct_mode(std::string_view directory_url) {
    return is_local_test_ca(directory_url) ? CtMode::off : CtMode::require;
}

std::shared_ptr<const CtLogList> CtLogList::load(const std::filesystem::path& file) {
    auto list = std::make_shared<CtLogList>();
    list->file_ = file;
    list->store_.reset(CTLOG_STORE_new(), CTLOG_STORE_free);
    if (!list->store_) {
        throw CtError(openssl_error("CTLOG_STORE_new"));
    }
    if (CTLOG_STORE_load_file(list->store_.get(), file.c_str()) != 1) {
        throw CtError(openssl_error("CT log list " + file.string() +
                                    " does not load (OpenSSL's CT log file format: "
                                    "enabled_logs = a,b and a [a] section with description "
                                    "and key (base64 DER public key) per log)"));
    }
    return list;
}

std::string_view to_string(SctStatus s) {
    switch (s) {
        case SctStatus::parsed:
            return "parsed";
        case SctStatus::verified:
            return "verified";
        case SctStatus::invalid:
            return "invalid";
        case SctStatus::unknown_log:
            return "unknown log";
        case SctStatus::unverifiable:
            break;
    }
    return "unverifiable";
}

std::vector<std::string> CtReport::counted_logs() const {
    std::vector<std::string> logs;
    for (const SctInfo& s : scts) {
        if (s.counts() && std::find(logs.begin(), logs.end(), s.log()) == logs.end()) {
            logs.push_back(s.log());
        }
    }
    return logs;
}

namespace {

// `logs` null: parsed only, `issuer` unused.
CtReport scts_of(X509* leaf, X509* issuer, const CtLogList* logs) {
    CtReport report;
    SctListPtr list = leaf_scts(leaf);
    if (!list) {
        return report;
    }
    PolicyCtxPtr ctx;
    if (logs != nullptr) {
        report.log_list = logs->file();
        ctx = policy_ctx(leaf, issuer, *logs);
    }
    for (int i = 0; i < sk_SCT_num(list.get()); ++i) {
        SCT* sct = sk_SCT_value(list.get(), i);
        SctInfo info;
        unsigned char* id = nullptr;
        const std::size_t id_len = SCT_get0_log_id(sct, &id);
        info.log_id = base64_encode(std::span<const std::uint8_t>(id, id_len));
        info.timestamp =
            from_unix_seconds(static_cast<std::int64_t>(SCT_get_timestamp(sct) / 1000));
        if (logs != nullptr) {
            const CTLOG* log = CTLOG_STORE_get0_log_by_id(logs->store(), id, id_len);
            if (log != nullptr) {
                info.log_name = CTLOG_get0_name(log);
            }
            info.status = verify(sct, ctx.get());
        }
        report.scts.push_back(std::move(info));
    }
    return report;
}

}  // namespace

CtReport read_scts(std::string_view fullchain_pem, const CtLogList* logs) {
    std::vector<std::string> blocks;
    try {
        blocks = split_pem_chain(fullchain_pem);
    } catch (const CertCheckError& e) {
        throw CtError(e.what());
    }
    X509Ptr leaf = parse_pem(blocks.front(), "certificate");
    if (logs == nullptr) {
        return read_scts(leaf.get());
    }
    X509Ptr issuer = blocks.size() > 1 ? parse_pem(blocks[1], "issuer certificate") : nullptr;
    return scts_of(leaf.get(), issuer.get(), logs);
}

CtReport read_scts(X509* leaf) {
    return scts_of(leaf, nullptr, nullptr);
}

std::string ct_policy_failure(const CtReport& report) {
    const std::string against =
        report.log_list ? " against the CT log list " + report.log_list->string() : "";
    std::string reason;
    for (const SctInfo& s : report.scts) {
        if (s.status == SctStatus::invalid) {
            reason += (reason.empty() ? "" : "; ") + std::string("the SCT of ") + s.log() +
                      " does not verify" + against + " (a forged or corrupted SCT)";
        }
    }
    const std::vector<std::string> logs = report.counted_logs();
    if (report.scts.empty()) {
        reason += (reason.empty() ? "" : "; ") + std::string("the certificate carries no SCTs, ") +
                  "SCTs from at least " + std::to_string(kMinCtLogs) +
                  " distinct logs are required (a CA that logs nothing, such as a test CA, "
                  "needs [certs] ct = off)";
    } else if (logs.size() < kMinCtLogs) {
        std::string counted;
        for (const std::string& l : logs) {
            counted += (counted.empty() ? " (" : ", ") + l;
        }
        std::string others;
        for (const SctInfo& s : report.scts) {
            if (!s.counts() && s.status != SctStatus::invalid) {
                others += (others.empty() ? "" : ", ") + s.log() + ": " +
                          std::string(to_string(s.status));
            }
        }
        reason += (reason.empty() ? "" : "; ") + std::string("the certificate carries ") +
                  (report.log_list ? "verified " : "") + "SCTs from " +
                  std::to_string(logs.size()) + " distinct log" + (logs.size() == 1 ? "" : "s") +
                  (counted.empty() ? "" : counted + ")") + ", at least " +
                  std::to_string(kMinCtLogs) + " are required" +
                  (others.empty() ? "" : "; not counted: " + others);
    }
    return reason.empty() ? "" : "certificate transparency: " + reason;
}

}  // namespace acmezone::issuer
