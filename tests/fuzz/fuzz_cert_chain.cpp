// libFuzzer target: the certificate chain the CA sends, as cert_check.h
// reads it (split_pem_chain, read_certificate, check_certificate).
//
// Two input forms, so that mutations reach the DER and not only the PEM
// armour around it:
//   - text starting with '-': a PEM chain, used as it is;
//   - anything else: a list of DER certificates, each prefixed by its
//     length (2 octets, big-endian; the last one takes what is left, at most
//     11 of them), which the target wraps in PEM blocks.
// check_certificate is given the key and the DNS names the leaf itself
// carries (when they can be read), so that inputs get past those two
// comparisons to the chain verification; and once {example.com,
// *.example.com} with a fixed key, to exercise the refusals.
//
// Normal outcomes: CertCheckError (the documented refusal), OpensslError
// (documented for OpenSSL failures) and std::invalid_argument (DnsName).
// Anything else thrown, and any sanitizer report, is a finding.
// check_certificate compares validity with the current time (OpenSSL's
// X509_verify_cert): the only non-deterministic input, and the seeds are
// valid until 2036.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "common/base64.h"
#include "common/dns_name.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/openssl_ptr.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

constexpr std::size_t kMaxBlobs = 11;  // one over cert_check's limit of 10

std::string pem_block(std::span<const std::uint8_t> der) {
    const std::string b64 = base64_encode(der);
    std::string out = "-----BEGIN CERTIFICATE-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) {
        out += b64.substr(i, 64) + "\n";
    }
    return out + "-----END CERTIFICATE-----\n";
}

std::string to_pem(const std::uint8_t* data, std::size_t size) {
    if (size > 0 && data[0] == '-') {
        return std::string(reinterpret_cast<const char*>(data), size);
    }
    std::string pem;
    std::size_t pos = 0;
    for (std::size_t n = 0; n < kMaxBlobs && pos < size; ++n) {
        std::size_t len = size - pos;
        if (n + 1 < kMaxBlobs && size - pos >= 2) {
            len = std::min<std::size_t>((std::size_t{data[pos]} << 8) | data[pos + 1],
                                        size - pos - 2);
            pos += 2;
        }
        pem += pem_block({data + pos, len});
        pos += len;
    }
    return pem;
}

// The leaf's own key (DER SubjectPublicKeyInfo), "" when it cannot be read.
std::string leaf_key(const std::string& pem) {
    BioPtr bio = memory_bio(pem);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    EVP_PKEY* key = cert ? X509_get0_pubkey(cert.get()) : nullptr;
    std::string der;
    if (key != nullptr) {
        try {
            der = public_key_der(key);
        } catch (const OpensslError&) {
        }
    }
    ERR_clear_error();
    return der;
}

const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;

// ACMEZONE_FUZZ_TRACE=1: what a seed or reproducer gets.
void trace(const char* what, const char* detail) {
    if (kTrace) {
        std::fprintf(stderr, "%s%s\n", what, detail);
    }
}

void check(const std::string& pem, std::string_view key, const std::vector<DnsName>& names) {
    try {
        const CertInfo info = check_certificate(pem, key, names);
        trace("accepted, serial ", info.serial_hex.c_str());
    } catch (const CertCheckError& e) {
        trace("CertCheckError: ", e.what());
    } catch (const OpensslError& e) {
        trace("OpensslError: ", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string pem = to_pem(data, size);
    std::vector<DnsName> own_names;
    try {
        (void)split_pem_chain(pem);
        const CertInfo info = read_certificate(pem);
        for (const std::string& n : info.dns_names) {
            if (auto name = DnsName::try_parse(n)) {
                own_names.push_back(*name);
            }
        }
    } catch (const CertCheckError& e) {
        trace("read_certificate: CertCheckError: ", e.what());
        return 0;  // check_certificate would refuse it the same way
    } catch (const OpensslError& e) {
        trace("read_certificate: OpensslError: ", e.what());
        return 0;
    }
    check(pem, leaf_key(pem), own_names);
    static const std::vector<DnsName> kExpected{DnsName::parse("example.com"),
                                                DnsName::parse("*.example.com")};
    check(pem, "not a key", kExpected);
    ERR_clear_error();
    return 0;
}
