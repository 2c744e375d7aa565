// See cert_check.h.
#include "issuer/certs/cert_check.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>

#include "common/utc_time.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer {
namespace {

constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
constexpr std::size_t kMaxChain = 10;

X509Ptr parse_one(const std::string& pem, std::size_t index) {
    BioPtr bio = memory_bio(pem);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        throw CertCheckError(openssl_error("certificate " + std::to_string(index + 1) +
                                           " of the chain does not parse"));
    }
    return cert;
}

}  // namespace

// The last leaf this thread parsed, handed out again for the same PEM: an
// issuance checks its new leaf (check_certificate) and then summarises the
// set it stored (pass/cert_summary.h), the one leaf twice in a row. One
// entry a thread, so nothing to lock or bound; an X509 is reference counted.
X509Ptr parse_leaf(const std::string& pem) {
    thread_local std::string last_pem;
    thread_local X509Ptr last;
    if (!last || pem != last_pem) {
        X509Ptr cert = parse_one(pem, 0);
        last_pem = pem;
        last = std::move(cert);
    }
    X509_up_ref(last.get());
    return X509Ptr(last.get());
}

namespace {

// The certificates above a leaf are the same few intermediates for every
// zone: each is parsed once a process (OpenSSL 3 sets up a key decoder for
// every certificate it parses) and shared, read-only (X509 is reference
// counted and safe to verify with from many threads).
X509Ptr parse_issuer(const std::string& pem, std::size_t index) {
    constexpr std::size_t kMaxKept = 32;
    static std::mutex mutex;
    static std::map<std::string, X509Ptr, std::less<>> kept;
    {
        std::lock_guard lock(mutex);
        if (auto it = kept.find(pem); it != kept.end()) {
            X509_up_ref(it->second.get());
            return X509Ptr(it->second.get());
        }
    }
    X509Ptr cert = parse_one(pem, index);
    std::lock_guard lock(mutex);
    if (kept.size() < kMaxKept && X509_up_ref(cert.get()) == 1) {
        kept.emplace(pem, X509Ptr(cert.get()));
    }
    return cert;
}

// The certificate's SubjectPublicKeyInfo as it holds it: no key encoder.
std::string spki_der(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (len <= 0) {
        OPENSSL_free(der);
        return "";
    }
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        throw CertCheckError(openssl_error("a certificate has an invalid validity time"));
    }
    // RFC 5280 itself uses 99991231235959Z for "no expiry": clamped (utc_time.h).
    return from_unix_seconds(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE) < 0) {
        return "?";
    }
    return bio_contents(bio.get());
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

CertInfo info_of(X509* leaf) {
    CertInfo info;
    GeneralNamesPtr sans(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans.get()); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
            if (gn->type != GEN_DNS) {
                info.dns_names.push_back("<non-DNS name type " + std::to_string(gn->type) + ">");
                continue;
            }
            const ASN1_IA5STRING* s = gn->d.dNSName;
            info.dns_names.push_back(
                lower(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<std::size_t>(ASN1_STRING_length(s)))));
        }
    }
    std::sort(info.dns_names.begin(), info.dns_names.end());
    info.not_before = to_time_point(X509_get0_notBefore(leaf));
    info.not_after = to_time_point(X509_get0_notAfter(leaf));
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), nullptr));
    if (serial) {
        char* hex = BN_bn2hex(serial.get());
        if (hex != nullptr) {
            info.serial_hex = lower(hex);
            OPENSSL_free(hex);
        }
    }
    info.issuer = name_text(X509_get_issuer_name(leaf));
    return info;
}

std::string join(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const std::string& s : v) {
        out += (out.size() > 1 ? ", " : "") + s;
    }
    return out + "}";
}

}  // namespace

std::vector<std::string> split_pem_chain(std::string_view pem) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (out.size() <= kMaxChain) {
        auto begin = pem.find(kBegin, pos);
        if (begin == std::string_view::npos) {
            break;
        }
        auto end = pem.find(kEnd, begin);
        if (end == std::string_view::npos) {
            throw CertCheckError("the PEM chain ends inside a certificate (no END line)");
        }
        end += kEnd.size();
        out.emplace_back(pem.substr(begin, end - begin));
        out.back() += "\n";
        pos = end;
    }
    if (out.empty()) {
        throw CertCheckError("no PEM certificate in the CA's answer");
    }
    if (out.size() > kMaxChain) {
        throw CertCheckError("the chain holds more than " + std::to_string(kMaxChain) +
                             " certificates");
    }
    return out;
}

CertInfo read_certificate(std::string_view pem) {
    auto blocks = split_pem_chain(pem);
    X509Ptr leaf = parse_leaf(blocks.front());
    return info_of(leaf.get());
}

CertInfo read_certificate(X509* leaf) {
    return info_of(leaf);
}

CertInfo check_certificate(std::string_view fullchain_pem, std::string_view public_key_der_expected,
                           const std::vector<DnsName>& expected_names,
                           const std::optional<std::string>& trust_file) {
    auto blocks = split_pem_chain(fullchain_pem);
    std::vector<X509Ptr> certs;
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        certs.push_back(i == 0 ? parse_leaf(blocks[i]) : parse_issuer(blocks[i], i));
    }
    X509* leaf = certs.front().get();
    CertInfo info = info_of(leaf);

    // The key.
    EVP_PKEY* leaf_key = X509_get0_pubkey(leaf);
    if (leaf_key == nullptr) {
        throw CertCheckError(openssl_error("the certificate's public key does not parse"));
    }
    // The bytes as the certificate holds them, else re-encoded as ours were
    // (a CA may encode the same key otherwise).
    if (spki_der(leaf) != public_key_der_expected &&
        public_key_der(leaf_key) != public_key_der_expected) {
        throw CertCheckError("the certificate's public key is not the key of our CSR");
    }

    // The names, exactly.
    std::vector<std::string> want;
    for (const DnsName& n : expected_names) {
        want.push_back(n.text());
    }
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    if (info.dns_names != want) {
        throw CertCheckError("the certificate names " + join(info.dns_names) + ", expected " +
                             join(want));
    }

    // The chain.
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    if (!store || !untrusted) {
        throw OpensslError("X509_STORE_new");
    }
    std::size_t untrusted_end = certs.size();
    if (trust_file) {
        if (X509_STORE_load_file(store.get(), trust_file->c_str()) != 1) {
            throw CertCheckError(openssl_error("trust store " + *trust_file + " does not load"));
        }
    } else {
        if (certs.size() < 2) {
            throw CertCheckError(
                "the CA sent only the leaf certificate, and no trust store is configured to "
                "verify it");
        }
        // Trust the chain's last certificate, check everything below it.
        if (X509_STORE_add_cert(store.get(), certs.back().get()) != 1) {
            throw OpensslError("X509_STORE_add_cert");
        }
        X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
        untrusted_end = certs.size() - 1;
    }
    for (std::size_t i = 1; i < untrusted_end; ++i) {
        if (sk_X509_push(untrusted.get(), certs[i].get()) == 0) {
            throw OpensslError("sk_X509_push");
        }
        X509_up_ref(certs[i].get());
    }
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
        throw OpensslError("X509_STORE_CTX_init");
    }
    if (X509_verify_cert(ctx.get()) != 1) {
        int err = X509_STORE_CTX_get_error(ctx.get());
        throw CertCheckError(std::string("the chain does not verify") +
                             (trust_file ? " against " + *trust_file : std::string()) + ": " +
                             X509_verify_cert_error_string(err) + " (at depth " +
                             std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ")");
    }
    return info;
}

std::string chain_top_issuer_cn(std::string_view pem) {
    const auto blocks = split_pem_chain(pem);
    X509Ptr top = parse_one(blocks.back(), blocks.size() - 1);
    const X509_NAME* issuer = X509_get_issuer_name(top.get());
    const int i = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
    if (i < 0) {
        return "";
    }
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
        throw CertCheckError(openssl_error("the chain's top issuer CN does not decode"));
    }
    std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    return cn;
}

}  // namespace acmezone::issuer
