// See client_identity.h.
#include "issuer/serve/client_identity.h"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace acmezone::issuer {
namespace {

std::string lower(const unsigned char* data, int length) {
    std::string s(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// A name with a NUL or a control character is ignored (never matched).
bool printable(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

std::vector<std::string> client_names(X509* cert) {
    std::vector<std::string> names;
    if (cert == nullptr) {
        return names;
    }
    struct SansFree {
        void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
    };
    std::unique_ptr<GENERAL_NAMES, SansFree> sans(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    bool had_dns = false;
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
        if (gn->type != GEN_DNS) {
            continue;
        }
        had_dns = true;
        const ASN1_IA5STRING* s = gn->d.dNSName;
        std::string name = lower(ASN1_STRING_get0_data(s), ASN1_STRING_length(s));
        if (printable(name)) {
            names.push_back(std::move(name));
        }
    }
    if (had_dns) {
        return names;
    }
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (at >= 0) {
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
        std::string name = lower(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
        if (printable(name)) {
            names.push_back(std::move(name));
        }
    }
    return names;
}

}  // namespace acmezone::issuer
