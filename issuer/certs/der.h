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

// The octets of a tag and of the length of `n` octets of contents (the
// shortest form).
inline std::size_t header_size(std::size_t n) {
    std::size_t size = 2;
    if (n >= 0x80) {
        for (std::size_t v = n; v > 0; v >>= 8) {
            ++size;
        }
    }
    return size;
}

// Appends a tag and the length of `n` octets of contents, which the caller
// appends next: a structure of known size built in one buffer reserved once
// (so that one holding a private key leaves no copy behind).
inline void append_header(std::string& out, unsigned char tag, std::size_t n) {
    out += static_cast<char>(tag);
    if (n < 0x80) {
        out += static_cast<char>(n);
        return;
    }
    const std::size_t octets = header_size(n) - 2;
    out += static_cast<char>(0x80 | octets);
    for (std::size_t i = octets; i-- > 0;) {
        out += static_cast<char>((n >> (8 * i)) & 0xff);
    }
}

// One tag-length-value.
inline std::string tlv(unsigned char tag, std::string_view contents) {
    std::string out;
    out.reserve(header_size(contents.size()) + contents.size());
    append_header(out, tag, contents.size());
    out.append(contents);
    return out;
}

}  // namespace acmezone::issuer::der
