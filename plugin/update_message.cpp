// RFC 2136 UPDATE decoding and the control socket's answers: see
// update_message.h for the mapping and the RCODE of each problem.
#include "plugin/update_message.h"

#include <cstdlib>
#include <map>
#include <stdexcept>

namespace acmezone::plugin {
namespace {

constexpr std::uint16_t kTypeNs = 2;
constexpr std::uint16_t kTypeSoa = 6;
constexpr std::uint16_t kTypeTxt = 16;
constexpr std::uint16_t kTypeOpt = 41;
constexpr std::uint16_t kTypeTsig = 250;
constexpr std::uint16_t kTypeIxfr = 251;
constexpr std::uint16_t kTypeAxfr = 252;
constexpr std::uint16_t kTypeMailb = 253;
constexpr std::uint16_t kTypeMaila = 254;
constexpr std::uint16_t kTypeAny = 255;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kClassNone = 254;
constexpr std::uint16_t kClassAny = 255;

// Meta types that can never be stored or asked about in an UPDATE.
bool is_meta(std::uint16_t type) {
    return type == kTypeOpt || type == kTypeTsig || type == kTypeIxfr || type == kTypeAxfr ||
           type == kTypeMailb || type == kTypeMaila;
}

struct Failure {
    std::uint8_t rcode;
    std::string detail;
};

std::string type_text(std::uint16_t type) {
    char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
    std::string out = s != nullptr ? s : "TYPE" + std::to_string(type);
    std::free(s);
    return out;
}

DnsName name_of(const ldns_rdf* rdf) {
    if (rdf == nullptr || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME) {
        throw Failure{kRcodeFormErr, "record without an owner name"};
    }
    char* s = ldns_rdf2str(rdf);
    std::string text = s != nullptr ? s : "";
    std::free(s);
    std::string error;
    auto name = DnsName::try_parse(text, &error);
    if (!name) {
        throw Failure{kRcodeFormErr, "unusable name: " + error};
    }
    return *name;
}

// The character-strings of a TXT record (rd_count may be 0: caller decides).
TxtData txt_of(const ldns_rr* rr, const DnsName& owner) {
    TxtData data;
    std::size_t total = 0;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
        const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
        const std::size_t size = ldns_rdf_size(rdf);
        const std::uint8_t* bytes = ldns_rdf_data(rdf);
        if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR || size < 1 || bytes[0] + 1u != size) {
            throw Failure{kRcodeFormErr, owner.text() + " TXT: malformed character-string"};
        }
        total += size;
        data.emplace_back(reinterpret_cast<const char*>(bytes + 1), size - 1);
    }
    if (total > kMaxTxtOctets) {
        throw Failure{kRcodeRefused, owner.text() + " TXT: value of " + std::to_string(total) +
                                         " octets exceeds the limit of " +
                                         std::to_string(kMaxTxtOctets)};
    }
    return data;
}

void note_name(UpdateRequest& req, const DnsName& name) {
    for (const DnsName& n : req.names) {
        if (n == name) {
            return;
        }
    }
    req.names.push_back(name);
}

void fail_prerequisite(UpdateRequest& req, std::uint8_t rcode, std::string detail) {
    if (req.failed_prerequisite == kRcodeNoError) {
        req.failed_prerequisite = rcode;
        req.failed_detail = std::move(detail);
    }
}

void decode_prerequisites(const ldns_pkt* pkt, const ZoneClaims& claims, UpdateRequest& req) {
    const ldns_rr_list* list = ldns_pkt_answer(pkt);
    std::map<DnsName, std::vector<TxtData>> txt_sets;  // class IN TXT, grouped by name
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        const DnsName name = name_of(ldns_rr_owner(rr));
        const auto type = static_cast<std::uint16_t>(ldns_rr_get_type(rr));
        const auto cls = static_cast<std::uint16_t>(ldns_rr_get_class(rr));
        const std::string what = "prerequisite " + name.text() + " " + type_text(type);
        if (ldns_rr_ttl(rr) != 0) {
            throw Failure{kRcodeFormErr, what + ": TTL must be 0"};
        }
        if (!name.is_at_or_below(req.zone)) {
            throw Failure{kRcodeNotZone, what + ": outside zone " + req.zone.text()};
        }
        if (is_meta(type)) {
            throw Failure{kRcodeFormErr, what + ": meta type not allowed"};
        }
        note_name(req, name);
        const bool apex = claims.is_apex(name);
        const bool apex_type = apex && (type == kTypeSoa || type == kTypeNs);
        if (cls == kClassAny || cls == kClassNone) {
            if (ldns_rr_rd_count(rr) != 0) {
                throw Failure{kRcodeFormErr, what + ": class ANY/NONE prerequisite with RDATA"};
            }
            const bool exists = cls == kClassAny;
            if (type == kTypeAny) {
                if (apex) {  // SOA and NS are always there
                    if (!exists) {
                        fail_prerequisite(req, kRcodeYxDomain, what + ": name is in use");
                    }
                } else {
                    req.prerequisites.push_back({exists ? Prerequisite::Kind::name_in_use
                                                        : Prerequisite::Kind::name_not_in_use,
                                                 name,
                                                 {}});
                }
            } else if (type == kTypeTxt) {
                req.prerequisites.push_back(
                    {exists ? Prerequisite::Kind::txt_exists : Prerequisite::Kind::txt_not_exists,
                     name,
                     {}});
            } else if (exists && !apex_type) {
                fail_prerequisite(req, kRcodeNxRrset, what + ": no such RRset");
            } else if (!exists && apex_type) {
                fail_prerequisite(req, kRcodeYxRrset, what + ": RRset exists");
            }
        } else if (cls == kClassIn) {
            if (type == kTypeAny) {
                throw Failure{kRcodeFormErr, what + ": type ANY with class IN"};
            }
            if (type == kTypeTxt) {
                TxtData data = txt_of(rr, name);
                if (data.empty()) {
                    throw Failure{kRcodeFormErr, what + ": TXT without data"};
                }
                txt_sets[name].push_back(std::move(data));
            } else {
                fail_prerequisite(req, kRcodeNxRrset,
                                  what +
                                      ": value-dependent prerequisite on a type other than "
                                      "TXT is not supported");
            }
        } else {
            throw Failure{kRcodeFormErr, what + ": class must be IN, NONE or ANY"};
        }
    }
    for (auto& [name, values] : txt_sets) {
        req.prerequisites.push_back({Prerequisite::Kind::txt_equals, name, std::move(values)});
    }
}

void decode_updates(const ldns_pkt* pkt, const ZoneClaims& claims, UpdateRequest& req) {
    const ldns_rr_list* list = ldns_pkt_authority(pkt);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(list, i);
        const DnsName name = name_of(ldns_rr_owner(rr));
        const auto type = static_cast<std::uint16_t>(ldns_rr_get_type(rr));
        const auto cls = static_cast<std::uint16_t>(ldns_rr_get_class(rr));
        const std::string what = "update " + name.text() + " " + type_text(type);
        if (!name.is_at_or_below(req.zone)) {
            throw Failure{kRcodeNotZone, what + ": outside zone " + req.zone.text()};
        }
        if (is_meta(type)) {
            throw Failure{kRcodeFormErr, what + ": meta type not allowed"};
        }
        if (cls == kClassIn) {
            if (type == kTypeAny) {
                throw Failure{kRcodeFormErr, what + ": type ANY with class IN"};
            }
        } else if (cls == kClassAny) {
            if (ldns_rr_ttl(rr) != 0 || ldns_rr_rd_count(rr) != 0) {
                throw Failure{kRcodeFormErr, what + ": class ANY delete needs TTL 0, no RDATA"};
            }
        } else if (cls == kClassNone) {
            if (ldns_rr_ttl(rr) != 0) {
                throw Failure{kRcodeFormErr, what + ": class NONE delete needs TTL 0"};
            }
            if (type == kTypeAny) {
                throw Failure{kRcodeFormErr, what + ": type ANY with class NONE"};
            }
        } else {
            throw Failure{kRcodeFormErr, what + ": class must be IN, NONE or ANY"};
        }
        if (type != kTypeTxt && !(cls == kClassAny && type == kTypeAny)) {
            throw Failure{kRcodeRefused, what + ": only TXT records can be changed here"};
        }
        const auto apex = claims.apex_of(name);
        if (!apex || (*apex != name && !claims.is_challenge_zone(*apex))) {
            throw Failure{kRcodeRefused, what +
                                             ": not a name this server serves (not in a "
                                             "claimed _acme-challenge or challenge zone)"};
        }
        note_name(req, name);
        if (cls == kClassAny) {
            req.changes.push_back(
                {type == kTypeAny ? Change::Op::delete_name : Change::Op::delete_txt, name, {}});
            continue;
        }
        TxtData data = txt_of(rr, name);
        if (data.empty()) {
            throw Failure{kRcodeFormErr, what + ": TXT without data"};
        }
        req.changes.push_back(
            {cls == kClassIn ? Change::Op::add : Change::Op::delete_value, name, std::move(data)});
    }
}

}  // namespace

DecodeResult decode_update(const ldns_pkt* update, const ZoneClaims& claims) {
    DecodeResult result;
    try {
        const ldns_rr_list* zone = ldns_pkt_question(update);
        if (ldns_rr_list_rr_count(zone) != 1) {
            throw Failure{kRcodeFormErr, "zone section holds " +
                                             std::to_string(ldns_rr_list_rr_count(zone)) +
                                             " records (must be 1)"};
        }
        const ldns_rr* z = ldns_rr_list_rr(zone, 0);
        result.request.zone = name_of(ldns_rr_owner(z));
        const std::string what = "zone " + result.request.zone.text();
        if (ldns_rr_get_type(z) != LDNS_RR_TYPE_SOA) {
            throw Failure{kRcodeFormErr, what + ": zone type must be SOA"};
        }
        if (ldns_rr_get_class(z) != LDNS_RR_CLASS_IN) {
            throw Failure{kRcodeFormErr, what + ": zone class must be IN"};
        }
        if (!claims.is_apex(result.request.zone) && claims.nothing_below(result.request.zone)) {
            throw Failure{kRcodeNotAuth,
                          what + ": not a claimed zone and no claimed zone lies below it"};
        }
        // The additional section (RFC 2136 §2.6: glue related to the update) is ignored.
        decode_prerequisites(update, claims, result.request);
        decode_updates(update, claims, result.request);
    } catch (const Failure& f) {
        result.rcode = f.rcode;
        result.detail = f.detail;
    }
    return result;
}

std::string rcode_name(std::uint8_t rcode) {
    static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (rcode < sizeof names / sizeof names[0]) {
        return names[rcode];
    }
    return "RCODE" + std::to_string(rcode);
}

LdnsPkt make_answer(const ldns_pkt* request, std::uint8_t rcode, bool aa) {
    LdnsPkt answer(ldns_pkt_new());
    if (!answer) {
        throw std::runtime_error("ldns_pkt_new failed");
    }
    ldns_pkt_set_id(answer.get(), ldns_pkt_id(request));
    ldns_pkt_set_opcode(answer.get(), ldns_pkt_get_opcode(request));
    ldns_pkt_set_qr(answer.get(), true);
    ldns_pkt_set_rd(answer.get(), ldns_pkt_rd(request));
    ldns_pkt_set_cd(answer.get(), ldns_pkt_cd(request));
    ldns_pkt_set_aa(answer.get(), aa);
    ldns_pkt_set_rcode(answer.get(), rcode);
    const ldns_rr_list* q = ldns_pkt_question(request);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(q); ++i) {
        ldns_rr* copy = ldns_rr_clone(ldns_rr_list_rr(q, i));
        if (copy == nullptr || !ldns_pkt_push_rr(answer.get(), LDNS_SECTION_QUESTION, copy)) {
            ldns_rr_free(copy);
            throw std::runtime_error("ldns: cannot copy the question");
        }
    }
    return answer;
}

std::vector<std::uint8_t> header_only_answer(std::span<const std::uint8_t> request,
                                             std::uint8_t rcode) {
    if (request.size() < 12 || (request[2] & 0x80) != 0) {
        return {};
    }
    std::vector<std::uint8_t> out(12, 0);
    out[0] = request[0];
    out[1] = request[1];
    out[2] = static_cast<std::uint8_t>(0x80 | (request[2] & 0x78));  // QR, opcode
    out[3] = static_cast<std::uint8_t>(rcode & 0x0f);
    return out;
}

}  // namespace acmezone::plugin
