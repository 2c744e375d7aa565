// A tiny PKI for the issuer's unit tests: keys, a root, an intermediate and
// leaves made with OpenSSL in memory, so cert_check and cert_store are tested
// against real X.509 without a CA server.
#pragma once

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "issuer/certs/cert_key.h"
#include "issuer/certs/openssl_ptr.h"

namespace acmezone::issuer::testing {

inline std::string cert_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        throw OpensslError("PEM_write_bio_X509");
    }
    return bio_contents(bio.get());
}

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        throw OpensslError("adding extension " + value);
    }
}

struct CertSpec {
    std::string cn;
    std::vector<std::string> sans;  // "DNS:example.com"
    bool ca = false;
    long not_before_offset = -3600;      // seconds from now
    long not_after_offset = 90 * 86400;  // seconds from now
    long serial = 1;
};

// Signs a certificate for `subject_key` by `issuer_key` (`issuer` null: self-signed).
inline X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                         EVP_PKEY* issuer_key) {
    X509Ptr cert(X509_new());
    if (!cert) {
        throw OpensslError("X509_new");
    }
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_offset);
    X509_set_pubkey(cert.get(), subject_key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
    X509* iss = issuer != nullptr ? issuer : cert.get();
    X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
    if (spec.ca) {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
    }
    add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
    if (!spec.sans.empty()) {
        std::string san;
        for (const std::string& s : spec.sans) {
            san += (san.empty() ? "" : ",") + s;
        }
        add_ext(cert.get(), iss, NID_subject_alt_name, san);
    }
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) {
        throw OpensslError("X509_sign");
    }
    return cert;
}

// root -> intermediate -> leaves, as a CA would build them.
struct TestPki {
    CertKey root_key = CertKey::generate(KeyType::ecdsa_p256);
    CertKey inter_key = CertKey::generate(KeyType::ecdsa_p256);
    X509Ptr root;
    X509Ptr inter;

    TestPki() {
        root = make_cert({"Test Root", {}, true, -86400, 3650L * 86400, 1}, root_key.get(), nullptr,
                         root_key.get());
        inter = make_cert({"Test Intermediate", {}, true, -86400, 3650L * 86400, 2},
                          inter_key.get(), root.get(), root_key.get());
    }
    std::string root_pem() const { return cert_pem(root.get()); }
    std::string inter_pem() const { return cert_pem(inter.get()); }

    // leaf + intermediate, as an ACME CA sends it.
    std::string chain_for(const CertKey& leaf_key, const std::vector<std::string>& sans,
                          long not_before_offset = -3600, long not_after_offset = 90 * 86400,
                          long serial = 100) const {
        CertSpec spec{"leaf", sans, false, not_before_offset, not_after_offset, serial};
        X509Ptr leaf = make_cert(spec, leaf_key.get(), inter.get(), inter_key.get());
        return cert_pem(leaf.get()) + inter_pem();
    }
};

}  // namespace acmezone::issuer::testing
