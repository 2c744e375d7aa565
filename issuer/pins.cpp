// See pins.h.
#include "issuer/pins.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <json/value.h>
#include <json/writer.h>

#include <array>
#include <cstdint>
#include <iomanip>
#include <stdexcept>

#include "common/base64.h"
#include "common/log.h"
#include "issuer/cert_key.h"
#include "issuer/cert_store.h"
#include "issuer/openssl_ptr.h"

namespace acmezone::issuer {

SpkiPin spki_pin(std::string_view public_key_der) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(public_key_der.data(), public_key_der.size(), md.data(), &len, EVP_sha256(),
                   nullptr) != 1 ||
        len != 32) {
        throw OpensslError("SHA-256 of a public key");
    }
    SpkiPin pin;
    pin.base64 = base64_encode(std::span<const std::uint8_t>(md.data(), len));
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        pin.hex += kHex[md[i] >> 4];
        pin.hex += kHex[md[i] & 0xf];
    }
    return pin;
}

SpkiPin spki_pin_of_pem(std::string_view pem, const std::string& origin) {
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos &&
        pem.find("-----BEGIN CERTIFICATE-----") < pem.find("PRIVATE KEY-----")) {
        BioPtr bio = memory_bio(pem);
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) {
            throw std::runtime_error(openssl_error(origin + ": not a PEM certificate"));
        }
        return spki_pin(public_key_der(X509_get0_pubkey(cert.get())));
    }
    return spki_pin(CertKey::from_pem(pem, origin).public_der());
}

int print_pins(const IssuerConfig& config, bool json, std::ostream& out) {
    const CertStore store(config.certs_dir);
    bool complete = true;
    Json::Value list(Json::arrayValue);
    if (!json) {
        out << std::left << std::setw(32) << "ZONE" << std::setw(12) << "KEY TYPE" << std::setw(9)
            << "KEY" << std::setw(46) << "PIN-SHA256 (BASE64)"
            << "TLSA 3 1 1 (HEX)\n";
    }
    for (const DnsName& zone : config.zones) {
        for (KeyType type : config.key_types) {
            std::optional<SpkiPin> current;
            std::optional<SpkiPin> next;
            try {
                const std::string chain = store.current_chain(zone, type);
                if (!chain.empty()) {
                    current =
                        spki_pin_of_pem(chain, zone.text() + " " + std::string(to_string(type)));
                }
            } catch (const std::exception& e) {
                log_error(zone.text(), ": ", to_string(type), " certificate: ", e.what());
            }
            try {
                if (auto key = store.next_key(zone, type)) {
                    next = spki_pin(key->public_der());
                }
            } catch (const std::exception& e) {
                log_error(zone.text(), ": next ", to_string(type), " key: ", e.what());
            }
            complete = complete && current && (next || !config.next_key);
            if (json) {
                Json::Value row(Json::objectValue);
                row["zone"] = zone.text();
                row["key_type"] = std::string(to_string(type));
                for (const auto& [name, pin] : {std::pair{"current", current}, {"next", next}}) {
                    if (pin) {
                        Json::Value p(Json::objectValue);
                        p["sha256_base64"] = pin->base64;
                        p["sha256_hex"] = pin->hex;
                        row[name] = p;
                    } else {
                        row[name] = Json::Value::null;
                    }
                }
                list.append(row);
                continue;
            }
            for (const auto& [name, pin] : {std::pair{"current", current}, {"next", next}}) {
                out << std::left << std::setw(32) << zone.text() << std::setw(12)
                    << std::string(to_string(type)) << std::setw(9) << name << std::setw(46)
                    << (pin ? pin->base64 : "-") << (pin ? pin->hex : "-") << "\n";
            }
        }
    }
    if (json) {
        Json::StreamWriterBuilder w;
        w["indentation"] = "  ";
        out << Json::writeString(w, list) << "\n";
    }
    return complete ? 0 : 1;
}

}  // namespace acmezone::issuer
