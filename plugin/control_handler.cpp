// The control socket's message handling: see control_handler.h.
#include "plugin/control_handler.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <utility>

#include "common/dns_rcode.h"
#include "common/dns_wire.h"
#include "common/log.h"
#include "plugin/soa.h"

namespace acmezone::plugin {
namespace {

std::uint64_t now_seconds() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

}  // namespace

ControlHandler::ControlHandler(const PluginConfig& config, const ZoneClaims& claims,
                               ChallengeStore& store, Notifier& notifier, WarningLimiter& warnings,
                               CatalogFollower* catalogs)
    : config_(config),
      claims_(claims),
      store_(store),
      notifier_(notifier),
      warnings_(warnings),
      catalogs_(catalogs),
      grants_(config.control.grants, claims),
      verifier_(config.control.keyring, config.control.allow_hmac_md5, config.control.fudge,
                config.control.allow_hmac_sha1, static_cast<std::uint64_t>(std::time(nullptr)),
                config.control.replay_memory) {}

bool ControlHandler::handle(std::span<const std::uint8_t> wire, const Endpoint& peer,
                            Protocol protocol, Reply reply) {
    if (wire.size() < 12 || (wire[2] & 0x80) != 0) {
        reply({});  // not a request: never answer
        return false;
    }
    const bool tcp = protocol == Protocol::tcp;
    TsigOutcome tsig;
    std::vector<std::uint8_t> out;
    try {
        const std::uint64_t now = now_seconds();
        tsig = verifier_.verify_request(
            wire, now, tcp ? TsigVerifier::Transport::tcp : TsigVerifier::Transport::udp);
        switch (tsig.status) {
            case TsigOutcome::Status::retransmission:
                log_info("acmezone: control socket: ", peer.to_string(), ": ", tsig.detail);
                reply(std::move(tsig.cached_answer));
                return false;
            case TsigOutcome::Status::in_progress:
                log_info("acmezone: control socket: ", peer.to_string(), ": ", tsig.detail,
                         "; no answer to this copy");
                reply({});
                return false;
            default:
                break;
        }
        auto answer = respond(wire, peer, tcp, tsig, now, reply);
        if (!answer) {
            return true;  // the store answers once the change is durable (signed UPDATEs only)
        }
        out = std::move(*answer);
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: SERVFAIL to ", peer.to_string(), ": ", e.what());
        out = header_only_answer(wire, kRcodeServFail);
    }
    finish(tsig, std::move(out), reply);
    return tsig.status == TsigOutcome::Status::ok;
}

void ControlHandler::finish(const TsigOutcome& tsig, std::vector<std::uint8_t> out,
                            const Reply& reply) {
    try {
        verifier_.cache_answer(tsig, out);  // a copy of this request gets `out` again
    } catch (const std::exception& e) {
        log_error("acmezone: control socket: cannot remember an answer: ", e.what());
    }
    reply(std::move(out));
}

std::optional<std::vector<std::uint8_t>> ControlHandler::respond(std::span<const std::uint8_t> wire,
                                                                 const Endpoint& peer, bool tcp,
                                                                 const TsigOutcome& tsig,
                                                                 std::uint64_t now,
                                                                 const Reply& reply) {
    if (tsig.status == TsigOutcome::Status::formerr) {
        if (warnings_.allow()) {
            log_warning("acmezone: control socket: FORMERR to ", peer.to_string(), ": ",
                        tsig.detail);
        }
        return header_only_answer(wire, kRcodeFormErr);
    }
    std::string malformed;
    LdnsPkt parsed = parse_message(wire, &malformed);
    if (!parsed) {
        if (warnings_.allow()) {
            log_warning("acmezone: control socket: FORMERR to ", peer.to_string(),
                        ": malformed message (", malformed, ")");
        }
        auto answer = header_only_answer(wire, kRcodeFormErr);
        verifier_.sign_answer(answer, tsig, now);
        return answer;
    }
    const std::shared_ptr<const ldns_pkt> request(std::move(parsed));
    LdnsPkt answer;
    switch (tsig.status) {
        case TsigOutcome::Status::ok:
        case TsigOutcome::Status::unsigned_message:
            answer = answer_request(request, peer, tcp, tsig, reply);
            if (!answer) {
                return std::nullopt;
            }
            break;
        default:
            if (warnings_.allow()) {
                log_warning("acmezone: control socket: ", peer.to_string(), ": ",
                            rcode_name(tsig.rcode()), ": ", tsig.detail);
            }
            answer = make_answer(request.get(), tsig.rcode());
    }
    return render(request.get(), answer.get(), tcp, tsig, now);
}

LdnsPkt ControlHandler::answer_request(const std::shared_ptr<const ldns_pkt>& request,
                                       const Endpoint& peer, bool tcp, const TsigOutcome& tsig,
                                       const Reply& reply) {
    switch (ldns_pkt_get_opcode(request.get())) {
        case LDNS_PACKET_QUERY:
            return answer_query(request.get(), peer);
        case LDNS_PACKET_UPDATE:
            if (tsig.status != TsigOutcome::Status::ok) {
                if (warnings_.allow()) {
                    log_warning("acmezone: control socket: REFUSED unsigned UPDATE from ",
                                peer.to_string(), " (sign it with a key of the keyring)");
                }
                return make_answer(request.get(), kRcodeRefused);
            }
            return answer_update(request, tsig, peer, tcp, reply);
        case LDNS_PACKET_NOTIFY:
            return answer_notify(request.get(), peer);
        default:
            return make_answer(request.get(), kRcodeNotImp);
    }
}

std::vector<std::uint8_t> ControlHandler::render(const ldns_pkt* request, const ldns_pkt* answer,
                                                 bool tcp, const TsigOutcome& tsig,
                                                 std::uint64_t now) {
    std::vector<std::uint8_t> out = to_wire(answer);
    if (!tcp && out.size() + TsigVerifier::answer_tsig_size(tsig) > kMaxUdpAnswer) {
        LdnsPkt small = make_answer(request, ldns_pkt_get_rcode(answer), ldns_pkt_aa(answer));
        ldns_pkt_set_tc(small.get(), true);
        out = to_wire(small.get());
    }
    verifier_.sign_answer(out, tsig, now);
    return out;
}

void ControlHandler::push_soa(ldns_pkt* answer, const DnsName& apex, ldns_pkt_section section) {
    const SoaRecord soa = make_soa(config_, apex, store_.snapshot()->serial);
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, soa.record_text().c_str(), 0, nullptr, nullptr) !=
            LDNS_STATUS_OK ||
        rr == nullptr) {
        throw std::runtime_error("cannot build the SOA of " + apex.text());
    }
    LdnsRr owned(rr);
    if (!ldns_pkt_push_rr(answer, section, owned.get())) {
        throw std::runtime_error("cannot add the SOA of " + apex.text());
    }
    (void)owned.release();
}

LdnsPkt ControlHandler::answer_query(const ldns_pkt* q, const Endpoint& peer) {
    const ldns_rr_list* qs = ldns_pkt_question(q);
    if (ldns_rr_list_rr_count(qs) != 1) {
        return make_answer(q, kRcodeFormErr);
    }
    const ldns_rr* question = ldns_rr_list_rr(qs, 0);
    char* text = ldns_rdf2str(ldns_rr_owner(question));
    const auto name = DnsName::try_parse(text != nullptr ? text : "");
    std::free(text);
    if (!name || ldns_rr_get_type(question) != LDNS_RR_TYPE_SOA ||
        ldns_rr_get_class(question) != LDNS_RR_CLASS_IN) {
        log_debug("acmezone: control socket: refusing a query from ", peer.to_string(),
                  " (only SOA IN of claimed zones is answered here)");
        return make_answer(q, kRcodeRefused);
    }
    if (claims_.is_apex(*name)) {
        LdnsPkt a = make_answer(q, kRcodeNoError, /*aa=*/true);
        push_soa(a.get(), *name, LDNS_SECTION_ANSWER);
        return a;
    }
    if (const auto apex = claims_.apex_of(*name)) {
        LdnsPkt a = make_answer(q, kRcodeNoError, /*aa=*/true);
        push_soa(a.get(), *apex, LDNS_SECTION_AUTHORITY);
        return a;
    }
    return make_answer(q, kRcodeRefused);
}

LdnsPkt ControlHandler::answer_notify(const ldns_pkt* q, const Endpoint& peer) {
    const ldns_rr_list* qs = ldns_pkt_question(q);
    if (ldns_rr_list_rr_count(qs) != 1) {
        return make_answer(q, kRcodeFormErr);
    }
    char* text = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(qs, 0)));
    const std::string printed = text != nullptr ? text : "";
    std::free(text);
    const auto zone = DnsName::try_parse(printed);
    const CatalogFollower::NotifyVerdict verdict =
        zone && catalogs_ != nullptr ? catalogs_->notify(*zone, peer)
                                     : CatalogFollower::NotifyVerdict::unknown_catalog;
    switch (verdict) {
        case CatalogFollower::NotifyVerdict::accepted:
            log_info("acmezone: NOTIFY for catalog ", zone->text(), " from ", peer.to_string(),
                     ": transferring it now");
            return make_answer(q, kRcodeNoError, /*aa=*/true);
        case CatalogFollower::NotifyVerdict::unknown_sender:
            log_warning("acmezone: REFUSED NOTIFY for catalog ", zone->text(), " from ",
                        peer.to_string(),
                        ": not the address of its server (see the catalog line of the plugin "
                        "config)");
            break;
        case CatalogFollower::NotifyVerdict::unknown_catalog:
            log_warning("acmezone: REFUSED NOTIFY for ", printed, " from ", peer.to_string(),
                        ": not a catalog this plugin follows");
            break;
    }
    return make_answer(q, kRcodeRefused);
}

LdnsPkt ControlHandler::answer_update(const std::shared_ptr<const ldns_pkt>& q,
                                      const TsigOutcome& tsig, const Endpoint& peer, bool tcp,
                                      const Reply& reply) {
    const DnsName& key = tsig.key->name;
    DecodeResult d = decode_update(q.get(), claims_);
    std::string who = "acmezone: UPDATE from " + peer.to_string() + " key " + key.text();
    if (d.rcode != kRcodeNoError) {
        log_warning(who, ": ", rcode_name(d.rcode), ": ", d.detail);
        return make_answer(q.get(), d.rcode);
    }
    auto r = std::make_shared<const UpdateRequest>(std::move(d.request));
    if (const auto denied = grants_.first_denied(key, r->names)) {
        log_warning(who, ": REFUSED: key ", key.text(), " is not granted ", denied->text(),
                    " (see the grant lines of the plugin config); nothing changed");
        return make_answer(q.get(), kRcodeRefused);
    }
    if (r->failed_prerequisite != kRcodeNoError) {
        log_info(who, ": ", rcode_name(r->failed_prerequisite), ": ", r->failed_detail);
        return make_answer(q.get(), r->failed_prerequisite);
    }
    // Answered here if the store decides at once, else by the committer.
    const std::optional<UpdateResult> at_once = store_.apply_async(
        r->prerequisites, r->changes, [this, q, r, tsig, tcp, reply, who](UpdateResult result) {
            answer_decided_update(q, r, tsig, tcp, who, result, reply);
        });
    if (!at_once) {
        return nullptr;
    }
    return settle_update(q.get(), who, *r, *at_once);
}

void ControlHandler::answer_decided_update(const std::shared_ptr<const ldns_pkt>& q,
                                           const std::shared_ptr<const UpdateRequest>& r,
                                           const TsigOutcome& tsig, bool tcp,
                                           const std::string& who, const UpdateResult& result,
                                           const Reply& reply) {
    std::vector<std::uint8_t> out;
    try {
        LdnsPkt answer = settle_update(q.get(), who, *r, result);
        out = render(q.get(), answer.get(), tcp, tsig, now_seconds());
    } catch (const std::exception& e) {
        log_error(who, ": SERVFAIL: ", e.what());
        try {
            out = render(q.get(), make_answer(q.get(), kRcodeServFail).get(), tcp, tsig,
                         now_seconds());
        } catch (const std::exception&) {
            out.clear();  // nothing can be rendered: the client retries
        }
    }
    finish(tsig, std::move(out), reply);
}

LdnsPkt ControlHandler::settle_update(const ldns_pkt* q, const std::string& who,
                                      const UpdateRequest& r, const UpdateResult& result) {
    if (result.rcode != kRcodeNoError) {
        log_warning(who, ": zone ", r.zone.text(), ": ", rcode_name(result.rcode), ": ",
                    result.detail, "; nothing changed");
        return make_answer(q, result.rcode);
    }
    std::vector<DnsName> apexes;
    for (const DnsName& n : result.changed) {
        if (auto apex = claims_.apex_of(n);
            apex && std::find(apexes.begin(), apexes.end(), *apex) == apexes.end()) {
            apexes.push_back(*apex);
        }
    }
    log_info(who, ": zone ", r.zone.text(), ": ", r.changes.size(), " change(s), ",
             result.changed.size(), " name(s) changed, serial ", result.serial);
    notifier_.notify(apexes);
    return make_answer(q, kRcodeNoError);
}

}  // namespace acmezone::plugin
