// One zone's whole way to a certificate for {Z, *.Z}.
//
//   1. The owner name: _acme-challenge.Z after following CNAMEs, found before
//      anything is asked of the CA (a zone whose DNS fails costs no order).
//   2. newOrder {Z, *.Z} (with "replaces" naming the same key type's current
//      certificate, or resume that type's order left by a crash; see
//      IssuanceOptions); fetch its authorizations; those already valid (a CA
//      may reuse them) need nothing. For the pending ones, the dns-01 value of
//      each, all published at the owner in ONE publish() call, then
//      wait_until_served() on every authoritative server.
//   3. Respond to every challenge (so the CA validates them at once), then
//      poll each authorization in turn until it is final (valid or invalid):
//      the values stay published until all are, since the CA may look
//      several times.
//   4. Unpublish exactly our values, whatever happened (a guard object does
//      it on every path, also when publish() itself failed half-way).
//   5. Finalize with a CSR from a fresh key (or the kept next key), poll
//      while "processing", download the chain (the preferred alternate, if
//      configured), check it (key, names exactly {Z, *.Z}, chain) and its
//      Certificate Transparency (certs/ct.h) as ct_mode says: with require a
//      certificate whose SCTs fail the policy throws, with warn it is logged.
//   6. With two key types, steps 2-5 again for the second (its
//      authorizations are usually valid already); then store every
//      certificate in one version, and with next-key make new next keys (a
//      standby set, IssuanceServices::standby, is stored as the standby
//      version instead and keeps the next keys).
// Any failure throws IssuanceError with the zone, the step and the cause in
// the operator's words; the stored certificate is then untouched.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/dns_name.h"
#include "issuer/acme/acme_client.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/cert_store.h"
#include "issuer/certs/ct.h"
#include "issuer/dns/challenge_dns.h"

namespace acmezone::issuer {

class IssuanceError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
    IssuanceError(const std::string& message, AcmeProblem problem)
        : std::runtime_error(message), problem_(std::move(problem)) {}
    // The CA's problem document when the CA refused a request (a rateLimited
    // one carries its Retry-After); nullopt for any other cause.
    const std::optional<AcmeProblem>& problem() const { return problem_; }

  private:
    std::optional<AcmeProblem> problem_;
};

struct IssuanceServices {
    AcmeClient& acme;
    const ChallengeDns& dns;
    CertStore& store;
    KeyType key_type = KeyType::ecdsa_p256;
    std::optional<std::filesystem::path> trust_file;
    std::chrono::seconds validation_timeout{300};
    // Empty: key_type alone, stored in the layout without key-type
    // directories. Else one order and certificate per type, stored together.
    std::vector<KeyType> key_types{};
    bool next_key = false;                       // use and renew the store's next keys
    std::string preferred_chain{};               // issuer CN; "": the CA's default chain
    CtMode ct_mode = CtMode::off;                // the issuing CA's [certs] ct
    std::shared_ptr<const CtLogList> ct_logs{};  // null: SCTs counted, not verified
    // The zone's standby set (pass/standby.h): stored with store_standby(),
    // so nothing live changes; with next_key, for the next key (which stays
    // the next key: a switch rolls to it), never making a new one.
    bool standby = false;
    // Where the values go, as the checks before ordering found it this pass
    // (and wrote a test value there); unset: looked up (challenge_name).
    std::optional<DnsName> challenge_owner{};
};

// What one zone's issuance tells its caller on the way, so that a crash
// between the two leaves a record of exactly what may still be published
// (pass.cpp keeps it in the zone's state, zone_state.h).
struct IssuanceEvents {
    // Once the order for key type `type` is placed or resumed (before any
    // value is published); with two key types, once per type.
    std::function<void(const std::string& order_url, KeyType type)> ordered;
    // Just before the values are published (nothing is published yet); an
    // exception thrown here fails the issuance before anything is published.
    std::function<void(const std::string& order_url, const DnsName& owner,
                       const std::vector<std::string>& values)>
        before_publish;
    // Once exactly those values are removed from every control socket (not
    // called when removing them failed: the record then stays).
    std::function<void()> after_unpublish;
    // For each authorization the CA declared "invalid" after our response
    // (the name without "*."): the rate budget counts failed authorizations.
    std::function<void(const DnsName& identifier)> authorization_failed;
};

// Called with each step's name, for progress reports.
using StepReporter = std::function<void(const std::string& step)>;

// {zone, *.zone}
std::vector<DnsName> certificate_names(const DnsName& zone);

// What this issuance continues from.
struct IssuanceOptions {
    // certID (ari.h) of the current certificate of each key type: that
    // type's order carries "replaces" when the CA has renewalInfo; refused,
    // it is ordered again without (a certificate from another CA, already
    // replaced). A type without an entry orders without "replaces".
    std::map<KeyType, std::string> replaces;
    // An order a process that died left behind (its values already removed),
    // and the key type it was for: that type's order resumes it when it is
    // "ready", or "pending" with every authorization valid or still waiting
    // for its dns-01 response, and finalizes it with a key of that type (the
    // next key, or a fresh one); otherwise it is abandoned (its pending
    // authorizations deactivated) and a new order placed. Orders of the other
    // types are placed anew (their authorizations are usually valid by then).
    std::string resume_order_url;
    KeyType resume_key_type = KeyType::ecdsa_p256;
};

// Issues and stores the certificate of `zone`; returns the stored leaf's info.
CertInfo issue_certificate(const DnsName& zone, IssuanceServices& services,
                           const StepReporter& report, const IssuanceEvents& events = {},
                           const IssuanceOptions& options = {});

}  // namespace acmezone::issuer
