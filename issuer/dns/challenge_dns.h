// The issuer's DNS side of DNS-01: where a challenge value must go, writing
// it through every configured publisher (the plugin's control sockets, or
// gdnsd's gdnsdctl: see gdnsd_publisher.h), and waiting until every
// authoritative server serves it.
//
// Thread-safe: one ChallengeDns serves all zones in flight.
// Errors are thrown as DnsError with a message in the operator's words:
//   "control socket 127.0.0.1:5353 answered REFUSED for
//    _acme-challenge.example.com (key acme-key not granted there)"
//   "_acme-challenge.example.com: 127.0.0.1:5300 does not serve value
//    \"abc...\" after 30 s (answered NXDOMAIN)"
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/endpoint.h"
#include "common/tsig_keyring.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {

class DnsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
    // `rcode`: the verified answer of a control socket that refused an UPDATE
    // (REFUSED, NOTAUTH, ...), so that callers can map it to advice.
    DnsError(const std::string& what, int rcode) : std::runtime_error(what), rcode_(rcode) {}
    std::optional<int> rcode() const { return rcode_; }

  private:
    std::optional<int> rcode_;
};

// One place challenge values are written to. Thread-safe; every method
// throws DnsError in the operator's words, naming the publisher.
class Publisher {
  public:
    virtual ~Publisher() = default;
    // "control socket 127.0.0.1:5353", "gdnsdctl -s 127.0.0.1:3506"
    virtual std::string name() const = 0;
    virtual void publish(const DnsName& owner, const std::vector<std::string>& values) const = 0;
    // Removes exactly these values where the publisher can (gdnsd cannot
    // remove single values: they expire there on their own).
    virtual void unpublish(const DnsName& owner, const std::vector<std::string>& values) const = 0;
};

struct DnsSettings {
    std::vector<Endpoint> controls;                  // every control socket gets every UPDATE
    std::vector<std::vector<std::string>> gdnsdctl;  // argv of each gdnsdctl publisher
    std::chrono::seconds command_timeout{30};        // one gdnsdctl run
    TsigKey key;                                     // signs the UPDATEs
    Endpoint resolver;                               // follows CNAMEs, finds the NS set
    std::vector<Endpoint> check_servers;             // if set: checked instead of the zone's NS
    std::chrono::milliseconds timeout{3000};         // one DNS exchange
    std::chrono::seconds propagation_timeout{120};   // wait_until_served
    std::chrono::milliseconds propagation_interval{100};  // between polls
};

// What ChallengeDns makes of one answer, parsed (ldns_wire2pkt) and whatever
// it holds: pure functions, no I/O.
//
// One hop of a CNAME chain: the first CNAME owned by `name` in a CNAME
// answer's answer section. No such record (NODATA, NXDOMAIN): no target.
// A target DnsName refuses: `unusable`, with ldns's text of it in `printed`.
struct CnameHop {
    std::optional<DnsName> target;
    bool unusable = false;
    std::string printed;
};
CnameHop cname_in_answer(const ldns_pkt* reply, const DnsName& name);
// The TXT values at `owner` in a TXT answer's answer section, each
// record's strings joined (txt_value), in the order answered.
std::vector<std::string> txt_values_in_answer(const ldns_pkt* reply, const DnsName& owner);

class ChallengeDns {
  public:
    explicit ChallengeDns(DnsSettings settings);
    ChallengeDns(const ChallengeDns&) = delete;  // publishers point into settings_
    ChallengeDns& operator=(const ChallengeDns&) = delete;

    // `_acme-challenge.<zone>`, following CNAME chains (loops and chains
    // longer than 8 are errors) to the name the values must be written at.
    DnsName challenge_name(const DnsName& zone) const;

    // Every publisher: one UPDATE per control socket adding all `values`
    // (TXT, one string each) at `owner`, one gdnsdctl run per command; tries
    // every publisher, then throws DnsError listing the failures (with the
    // rcode when there is exactly one publisher and it answered one).
    void publish(const DnsName& owner, const std::vector<std::string>& values) const;

    // Deletes exactly these values at `owner` from every publisher that can
    // delete. Tries every publisher even when one fails; throws DnsError
    // listing the failures.
    void unpublish(const DnsName& owner, const std::vector<std::string>& values) const;

    // Returns when every authoritative server of the zone holding `owner`
    // (its NS set's addresses, or check_servers) answers TXT at `owner` with
    // every one of `values`; polls every propagation_interval; throws DnsError
    // naming the first server still lacking a value at the deadline.
    void wait_until_served(const DnsName& owner, const std::vector<std::string>& values) const;

    const DnsSettings& settings() const { return settings_; }
    // Control sockets first, in configured order, then gdnsdctl commands.
    const std::vector<std::unique_ptr<Publisher>>& publishers() const { return publishers_; }

  private:
    const char* publishers_word() const;  // for "1 of 2 control sockets failed"

    DnsSettings settings_;
    std::vector<std::unique_ptr<Publisher>> publishers_;
};

}  // namespace acmezone::issuer
