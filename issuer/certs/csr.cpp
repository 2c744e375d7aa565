// See csr.h.
#include "issuer/certs/csr.h"

#include <openssl/x509v3.h>

#include <stdexcept>

namespace acmezone::issuer {

std::string make_csr_der(const CertKey& key, const std::vector<DnsName>& names) {
    if (names.empty()) {
        throw std::invalid_argument("a CSR needs at least one name");
    }
    X509ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) {
        throw OpensslError("CSR: X509_REQ_new");
    }
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const std::string cn = names.front().text();
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                   0) != 1) {
        throw OpensslError("CSR: setting the subject " + cn);
    }
    if (X509_REQ_set_pubkey(req.get(), key.get()) != 1) {
        throw OpensslError("CSR: setting the public key");
    }

    std::string san;
    for (const DnsName& n : names) {
        san += san.empty() ? "" : ",";
        san += "DNS:" + n.text();
    }
    X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str()));
    if (!ext) {
        throw OpensslError("CSR: subjectAltName " + san);
    }
    using ExtStackPtr =
        std::unique_ptr<STACK_OF(X509_EXTENSION),
                        decltype([](STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_free(s); })>;
    ExtStackPtr exts(sk_X509_EXTENSION_new_null());
    if (!exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) == 0) {
        throw OpensslError("CSR: extension list");
    }
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
        throw OpensslError("CSR: adding extensions");
    }
    if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
        throw OpensslError("CSR: signing");
    }
    unsigned char* der = nullptr;
    int len = i2d_X509_REQ(req.get(), &der);
    if (len <= 0) {
        throw OpensslError("CSR: encoding");
    }
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

}  // namespace acmezone::issuer
