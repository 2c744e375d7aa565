// See issuance.h.
#include "issuer/pass/issuance.h"

#include <exception>
#include <optional>

#include "common/interrupt.h"
#include "common/log.h"
#include "issuer/certs/csr.h"
#include "issuer/certs/pins.h"

namespace acmezone::issuer {
namespace {

// Removes exactly the values it was given, on every path out of the scope.
// Armed before publish() is called, so values a half-failed publish() left on
// some control sockets are removed too.
class PublishedValues {
  public:
    PublishedValues(const ChallengeDns& dns, const DnsName& zone, DnsName owner,
                    std::vector<std::string> values, const IssuanceEvents& events)
        : dns_(dns),
          zone_(zone),
          owner_(std::move(owner)),
          values_(std::move(values)),
          events_(events) {}
    ~PublishedValues() { remove(); }
    PublishedValues(const PublishedValues&) = delete;
    PublishedValues& operator=(const PublishedValues&) = delete;

    void publish() {
        publish_failed_ = true;
        dns_.publish(owner_, values_);
        publish_failed_ = false;
    }

    // Idempotent; never throws (a failure is logged: the plugin lets the values
    // expire on their own, but the operator must know).
    void remove() noexcept {
        if (removed_) {
            return;
        }
        removed_ = true;
        try {
            dns_.unpublish(owner_, values_);
            if (events_.after_unpublish) {
                events_.after_unpublish();
            }
        } catch (const std::exception& e) {
            log_error(zone_.text(), ": could not remove the challenge values at ", owner_.text(),
                      ": ", e.what(), " (the plugin drops them when their lifetime ends)");
        }
    }

  private:
    const ChallengeDns& dns_;
    DnsName zone_;
    DnsName owner_;
    std::vector<std::string> values_;
    const IssuanceEvents& events_;
    bool removed_ = false;
    bool publish_failed_ = false;
};

// A step's value or the exception it threw, read after every step ran.
template <typename T>
struct Outcome {
    std::optional<T> value;
    std::exception_ptr error;
    template <typename F>
    void run(F step) {
        try {
            value = step();
        } catch (...) {
            error = std::current_exception();
        }
    }
    T get() const {
        if (error) {
            std::rethrow_exception(error);
        }
        return *value;
    }
};

struct PendingChallenge {
    AcmeAuthorization authorization;
    AcmeChallenge challenge;
    std::string value;
};

std::string name_of(const AcmeAuthorization& a) {
    return (a.wildcard ? "*." : "") + a.identifier;
}

}  // namespace

std::vector<DnsName> certificate_names(const DnsName& zone) {
    return {zone, zone.child("*")};
}

namespace {

// The order left by a crash, if it can still lead to a certificate; else
// abandoned (see IssuanceOptions).
std::optional<AcmeOrder> resume_order(const DnsName& zone, AcmeClient& acme,
                                      const std::string& url) {
    std::string why;
    std::vector<std::string> pending;
    try {
        AcmeOrder o = acme.get_order(url);
        if (o.status == "ready") {
            log_info(zone.text(), ": resuming order ", url, " (ready)");
            return o;
        }
        if (o.status == "pending") {
            bool usable = true;
            for (const std::string& a_url : o.authorizations) {
                AcmeAuthorization a = acme.get_authorization(a_url);
                if (a.status == "pending") {
                    pending.push_back(a_url);
                    const AcmeChallenge* c = a.find_challenge("dns-01");
                    if (c == nullptr || c->status != "pending") {
                        usable = false;
                        why = "the dns-01 challenge of " + name_of(a) + " is \"" +
                              (c ? c->status : std::string("missing")) + "\"";
                    }
                } else if (a.status != "valid") {
                    usable = false;
                    why = "authorization for " + name_of(a) + " is \"" + a.status + "\"";
                }
            }
            if (usable) {
                log_info(zone.text(), ": resuming order ", url, " (pending)");
                return o;
            }
        } else {
            why = "it is \"" + o.status + "\"";
        }
    } catch (const Interrupted&) {
        throw;
    } catch (const std::exception& e) {
        why = e.what();
    }
    log_info(zone.text(), ": abandoning order ", url, " left by an interrupted run: ", why);
    for (const std::string& a_url : pending) {
        try {
            acme.deactivate_authorization(a_url);
        } catch (const Interrupted&) {
            throw;
        } catch (const std::exception& e) {
            log_warning(zone.text(), ": ", e.what());
        }
    }
    return std::nullopt;
}

// One order for `names` finalized with `key`: validates what is pending,
// then finalizes, downloads (preferring s.preferred_chain) and checks. The
// second key type's order usually finds its authorizations valid already
// (the CA reuses those the first order just validated). `enter` names steps.
// The order for key type `type`: the one a crash left for that type when it
// can be resumed, else a new one, replacing that type's current certificate
// when the CA has renewalInfo (refused: ordered again without "replaces").
AcmeOrder place_order(const DnsName& zone, const std::vector<DnsName>& names, KeyType type,
                      IssuanceServices& s, const IssuanceOptions& options) {
    s.acme.ensure_account();
    if (!options.resume_order_url.empty() && options.resume_key_type == type) {
        if (auto resumed = resume_order(zone, s.acme, options.resume_order_url)) {
            return std::move(*resumed);
        }
    }
    const auto replaces = options.replaces.find(type);
    if (replaces == options.replaces.end() || replaces->second.empty() ||
        !s.acme.renewal_info_url()) {
        return s.acme.new_order(names);
    }
    try {
        return s.acme.new_order(names, replaces->second);
    } catch (const AcmeError& e) {
        if (e.problem().status == 0 || e.problem().status >= 500) {
            throw;  // retries already spent, or no answer at all
        }
        log_warning(zone.text(), ": the CA refused an order replacing ", replaces->second, ": ",
                    e.what(), "; ordering without \"replaces\"");
        return s.acme.new_order(names);
    }
}

// The chain's SCTs against the policy (ct.h): require throws, warn logs.
void check_transparency(const DnsName& zone, const std::string& chain, const IssuanceServices& s) {
    if (s.ct_mode == CtMode::off) {
        return;
    }
    const CtReport report = read_scts(chain, s.ct_logs.get());
    const std::string failure = ct_policy_failure(report);
    if (failure.empty()) {
        log_debug(zone.text(), ": certificate transparency: ", report.scts.size(), " SCTs, from ",
                  report.counted_logs().size(), " distinct logs that count");
        return;
    }
    if (s.ct_mode == CtMode::require) {
        throw CtError(failure + "; not stored ([certs] ct = require)");
    }
    log_warning(zone.text(), ": ", failure, " (stored anyway: [certs] ct = warn)");
}

std::pair<std::string, CertInfo> obtain_chain(const DnsName& zone, const DnsName& owner,
                                              const std::vector<DnsName>& names, KeyType type,
                                              const CertKey& key, IssuanceServices& s,
                                              const IssuanceEvents& events,
                                              const IssuanceOptions& options,
                                              const std::function<void(std::string)>& enter) {
    enter("ordering");
    AcmeOrder order = place_order(zone, names, type, s, options);
    if (events.ordered) {
        events.ordered(order.url, type);
    }
    const auto deadline = AcmeClient::Clock::now() + s.validation_timeout;

    enter("reading authorizations");
    std::vector<PendingChallenge> pending;
    for (const std::string& url : order.authorizations) {
        AcmeAuthorization a = s.acme.get_authorization(url);
        if (DnsName::parse(a.identifier) != zone) {
            throw IssuanceError("the CA sent an authorization for " + name_of(a) +
                                ", which is not in the order");
        }
        if (a.status == "valid") {
            log_debug(zone.text(), ": authorization for ", name_of(a), " already valid");
            continue;
        }
        if (a.status != "pending") {
            auto err = a.first_error();
            throw IssuanceError("authorization for " + name_of(a) + " is \"" + a.status + "\"" +
                                (err ? ": " + err->to_string() : std::string()));
        }
        const AcmeChallenge* c = a.find_challenge("dns-01");
        if (c == nullptr) {
            throw IssuanceError("the CA offers no dns-01 challenge for " + name_of(a));
        }
        PendingChallenge p{a, *c, s.acme.dns01_value(c->token)};
        pending.push_back(std::move(p));
    }

    if (!pending.empty()) {
        // Both values (Z and *.Z) at the one owner name, in one UPDATE.
        std::vector<std::string> values;
        for (const PendingChallenge& p : pending) {
            values.push_back(p.value);
        }
        enter("publishing " + std::to_string(values.size()) + " value(s) at " + owner.text());
        if (events.before_publish) {
            events.before_publish(order.url, owner, values);
        }
        PublishedValues published(s.dns, zone, owner, values, events);
        published.publish();
        enter("waiting until every server serves " + owner.text());
        s.dns.wait_until_served(owner, values);

        enter("validating");
        // Respond to every challenge first, so that the CA validates them all
        // at once, then poll the order, not each authorization: it is
        // "ready" when every one is valid, so a pass asks the CA once where
        // it asked once an authorization. Only when the order is not ready
        // are the authorizations read, for what failed and why.
        std::vector<std::exception_ptr> respond_errors(pending.size());
        bool all_responded = true;
        const auto responding = AcmeClient::Clock::now();
        for (std::size_t i = 0; i < pending.size(); ++i) {
            try {
                s.acme.respond(pending[i].challenge);
            } catch (const Interrupted&) {
                throw;
            } catch (...) {
                respond_errors[i] = std::current_exception();
                all_responded = false;
            }
        }
        std::optional<AcmeOrder> validated;
        std::exception_ptr poll_error;
        if (all_responded) {
            try {
                validated = s.acme.poll_validated_order(
                    order.url, AcmeClient::Clock::now() - responding, deadline);
            } catch (const Interrupted&) {
                throw;
            } catch (...) {
                poll_error = std::current_exception();
            }
        }
        if (validated && validated->status == "ready") {
            published.remove();  // every authorization is valid: values go now
            order = std::move(*validated);
        } else {
            // Each authorization until it is final (or failed), for its
            // error; the values stay until the CA is done with them all.
            std::vector<Outcome<AcmeAuthorization>> results(pending.size());
            for (std::size_t i = 0; i < pending.size(); ++i) {
                if (respond_errors[i]) {
                    results[i].error = respond_errors[i];
                } else {
                    results[i].run([&] {
                        return s.acme.poll_authorization(pending[i].authorization.url, deadline);
                    });
                }
            }
            published.remove();
            if (interrupted()) {
                throw Interrupted();
            }
            std::string failures;
            for (std::size_t i = 0; i < results.size(); ++i) {
                const std::string who = name_of(pending[i].authorization);
                try {
                    AcmeAuthorization final = results[i].get();
                    if (final.status == "invalid" && events.authorization_failed) {
                        if (auto id = DnsName::try_parse(final.identifier)) {
                            events.authorization_failed(*id);
                        }
                    }
                    if (final.status != "valid") {
                        auto err = final.first_error();
                        failures += (failures.empty() ? "" : "; ") + who + ": " + final.status +
                                    (err ? " (" + err->to_string() + ")" : std::string());
                    }
                } catch (const std::exception& e) {
                    failures += (failures.empty() ? "" : "; ") + who + ": " + e.what();
                }
            }
            if (!failures.empty()) {
                throw IssuanceError("the CA did not validate: " + failures);
            }
            if (poll_error) {
                std::rethrow_exception(poll_error);  // validated, but the order did not answer
            }
            // Every authorization valid, yet the order was not ready when
            // polled: polled again below, as when nothing was pending.
        }
    }

    enter("finalizing");
    if (order.status != "ready") {
        order = s.acme.poll_order(order.url, deadline, /*stop_at_ready=*/true);
    }
    if (order.status != "ready" && order.status != "valid") {
        throw IssuanceError("order is \"" + order.status + "\"" +
                            (order.error ? ": " + order.error->to_string() : std::string()));
    }
    if (order.status != "ready") {
        // Valid already, for another CSR's key we do not hold: cannot be used.
        throw IssuanceError("order is already \"valid\" before finalize");
    }
    const auto finalize_sent = AcmeClient::Clock::now();
    order = s.acme.finalize(order, make_csr_der(key, names));
    if (order.status != "valid") {
        order = s.acme.poll_finalized_order(order.url, AcmeClient::Clock::now() - finalize_sent,
                                            deadline);
    }
    if (order.status != "valid" || order.certificate.empty()) {
        throw IssuanceError("order ended \"" + order.status + "\"" +
                            (order.error ? ": " + order.error->to_string() : std::string()));
    }

    enter("downloading");
    std::string chain = s.acme.download_certificate(order.certificate, s.preferred_chain);

    enter("checking");
    CertInfo info = check_certificate(
        chain, key.public_der(), names,
        s.trust_file ? std::optional<std::string>(s.trust_file->string()) : std::nullopt);
    check_transparency(zone, chain, s);
    return {std::move(chain), std::move(info)};
}

// The key to certify for `type`: the kept next key when next-key is on and
// one is there (and it is not the current key, as after a crash between
// storing and replacing it), else a fresh one.
CertKey key_for(const DnsName& zone, KeyType type, const IssuanceServices& s) {
    if (s.next_key) {
        auto next = s.store.next_key(zone, type);
        if (next) {
            const std::string current = s.store.current_chain(zone, type);
            if (current.empty() || spki_pin_of_pem(current, "current certificate").base64 !=
                                       spki_pin(next->public_der()).base64) {
                return std::move(*next);
            }
            log_warning(zone.text(), ": the next ", to_string(type),
                        " key is already the current one; using a fresh key");
        }
    }
    return CertKey::generate(type);
}

}  // namespace

CertInfo issue_certificate(const DnsName& zone, IssuanceServices& s, const StepReporter& report,
                           const IssuanceEvents& events, const IssuanceOptions& options) {
    const std::vector<DnsName> names = certificate_names(zone);
    const std::vector<KeyType> types =
        s.key_types.empty() ? std::vector<KeyType>{s.key_type} : s.key_types;
    std::string step;
    std::string prefix;
    auto enter = [&](std::string what) {
        step = prefix + std::move(what);
        report(step);
    };
    try {
        // Where the values go, found before ordering: a zone whose DNS cannot
        // work costs the CA nothing.
        enter("finding the challenge name");
        const DnsName owner = s.challenge_owner ? *s.challenge_owner : s.dns.challenge_name(zone);

        // One order per key type; nothing is stored until every one succeeded,
        // so the pair changes together.
        std::vector<TypedCert> certs;
        std::optional<CertInfo> first;
        for (KeyType type : types) {
            prefix = types.size() > 1 ? std::string(to_string(type)) + ": " : "";
            CertKey key = key_for(zone, type, s);
            auto [chain, info] =
                obtain_chain(zone, owner, names, type, key, s, events, options, enter);
            if (!first) {
                first = info;
            }
            certs.push_back(TypedCert{type, key.private_pem(), std::move(chain)});
        }
        prefix.clear();
        enter(s.standby ? "storing the standby set" : "storing");
        if (s.standby) {
            s.store.store_standby(zone, certs);
            return *first;
        }
        if (s.key_types.empty()) {
            s.store.store(zone, certs.front().privkey_pem, certs.front().fullchain_pem);
        } else {
            s.store.store(zone, certs);
        }
        if (s.next_key) {
            enter("making the next key");
            for (KeyType type : types) {
                s.store.write_next_key(zone, type, CertKey::generate(type));
            }
        }
        return *first;
    } catch (const AcmeError& e) {
        if (!e.problem().type.empty()) {
            throw IssuanceError(zone.text() + ": " + step + ": " + e.what(), e.problem());
        }
        throw IssuanceError(zone.text() + ": " + step + ": " + e.what());
    } catch (const std::exception& e) {
        throw IssuanceError(zone.text() + ": " + step + ": " + e.what());
    }
}

}  // namespace acmezone::issuer
