// The few DER (X.690) pieces the issuer writes by hand: a CSR (csr.cpp) and
// an ECDSA key's PKCS#8 and SubjectPublicKeyInfo (cert_key.cpp). OpenSSL 3
// builds those through its provider encoders, whose set-up alone costs more
// than the rest of an issuance's key and CSR work; the bytes are fixed by
// the standards, and the unit tests read each back with OpenSSL.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace acmezone::issuer::der {

// Tags.
constexpr unsigned char kInteger = 0x02;
constexpr unsigned char kBitString = 0x03;
constexpr unsigned char kOctetString = 0x04;
constexpr unsigned char kNull = 0x05;
constexpr unsigned char kOid = 0x06;
constexpr unsigned char kUtf8String = 0x0c;
constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;

// One tag-length-value, the length in its shortest form.
inline std::string tlv(unsigned char tag, std::string_view contents) {
    std::string out(1, static_cast<char>(tag));
    const std::size_t n = contents.size();
    if (n < 0x80) {
        out += static_cast<char>(n);
    } else {
        std::string length;
        for (std::size_t v = n; v > 0; v >>= 8) {
            length.insert(length.begin(), static_cast<char>(v & 0xff));
        }
        out += static_cast<char>(0x80 | length.size());
        out += length;
    }
    out.append(contents);
    return out;
}

}  // namespace acmezone::issuer::der
