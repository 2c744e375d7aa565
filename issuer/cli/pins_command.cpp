// See pins_command.h.
#include "issuer/cli/pins_command.h"

#include <json/value.h>
#include <json/writer.h>

#include <iomanip>

#include "common/log.h"
#include "issuer/certs/cert_store.h"
#include "issuer/certs/pins.h"

namespace acmezone::issuer {

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
