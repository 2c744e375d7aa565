// See config_check.h.
#include "issuer/fetch/config_check.h"

#include <openssl/pem.h>

#include <exception>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/fetch/fetcher.h"

namespace acmezone::issuer {
namespace fs = std::filesystem;
namespace {

// The problems found, each "OPTION = FILE: cause".
class Findings {
  public:
    void add(const char* option, const fs::path& file, const std::string& cause) {
        problems_.push_back(std::string(option) + " = " + file.string() + ": " + cause);
    }
    const std::vector<std::string>& problems() const { return problems_; }

  private:
    std::vector<std::string> problems_;
};

// The file's text, or nullopt with the read error recorded.
std::optional<std::string> read_named(Findings& f, const char* option, const fs::path& file) {
    try {
        return read_file(file);
    } catch (const std::exception& e) {
        f.add(option, file, e.what());
        return std::nullopt;
    }
}

// A PEM file of one or more certificates (server-ca, trust).
void check_certificates(Findings& f, const char* option, const fs::path& file) {
    if (auto pem = read_named(f, option, file)) {
        try {
            for (const std::string& block : split_pem_chain(*pem)) {
                read_certificate(block);
            }
        } catch (const std::exception& e) {
            f.add(option, file, e.what());
        }
    }
}

// client-cert and client-key: a valid certificate and its key. Returns the
// names the server will know this host by ("" when unknown).
std::string check_client(Findings& f, const FetchConfig& c) {
    std::string names;
    std::optional<std::string> cert_der;
    if (auto pem = read_named(f, "client-cert", c.client_cert)) {
        try {
            const CertInfo info = read_certificate(*pem);
            for (const std::string& n : info.dns_names) {
                names += (names.empty() ? "" : " ") + n;
            }
            const auto now = std::chrono::system_clock::now();
            if (now < info.not_before || now >= info.not_after) {
                f.add("client-cert", c.client_cert,
                      "not valid now (valid " + format_utc(info.not_before) + " to " +
                          format_utc(info.not_after) + ")");
            }
            BioPtr bio = memory_bio(*pem);
            X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
            if (x) {
                cert_der = public_key_der(X509_get0_pubkey(x.get()));
            }
        } catch (const std::exception& e) {
            f.add("client-cert", c.client_cert, e.what());
        }
    }
    if (auto pem = read_named(f, "client-key", c.client_key)) {
        try {
            const CertKey key = CertKey::from_pem(*pem, c.client_key.string());
            if (cert_der && key.public_der() != *cert_der) {
                f.add("client-key", c.client_key,
                      "not the key of client-cert " + c.client_cert.string());
            }
        } catch (const std::exception& e) {
            f.add("client-key", c.client_key, e.what());
        }
    }
    return names;
}

}  // namespace

int check_fetch_config(const FetchConfig& config, bool mirror, std::ostream& out) {
    Findings f;
    check_certificates(f, "server-ca", config.server_ca);
    if (config.trust) {
        check_certificates(f, "trust", *config.trust);
    }
    const std::string names = check_client(f, config);
    for (const std::string& p : f.problems()) {
        log_error(config.origin, ": ", p);
    }
    if (config.zones.empty() && !mirror) {
        log_error(config.origin, ": zone: no zone to fetch (give zone = ZONE, or --mirror)");
        return kFetchFailed;
    }
    if (!f.problems().empty()) {
        out << config.origin << ": " << f.problems().size()
            << " problem(s) above; no server was contacted\n";
        return kFetchFailed;
    }
    out << config.origin << ": OK (no server contacted): " << config.servers.size()
        << " server(s), "
        << (mirror ? "every zone listed" : std::to_string(config.zones.size()) + " zone(s)")
        << ", target " << config.target.string() << ", this host is "
        << (names.empty() ? "(no DNS name in client-cert: its CN)" : names) << "\n";
    return kFetchOk;
}

}  // namespace acmezone::issuer
