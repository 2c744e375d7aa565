// Test helpers for the control socket's unit tests: DNS messages built with
// ldns (an implementation independent of the code under test), and the
// keys and claims the tests share, and a socket handle.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/ldns_ptr.h"
#include "common/tsig_keyring.h"
#include "plugin/update_message.h"

namespace acmezone::plugin::testing {

// A record from master-file text ("x.example.com. 0 IN TXT \"v\"").
// A socket fd closed when the test is done with it.
class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {
        if (fd_ < 0) {
            throw std::runtime_error("test: socket failed");
        }
    }
    ~Socket() { ::close(fd_); }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
};

inline bool readable(int fd, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

inline ldns_rr* rr_from(const std::string& text) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
        throw std::invalid_argument("test: bad record text: " + text);
    }
    return rr;
}

// A record without RDATA (class ANY/NONE deletes and prerequisites).
inline ldns_rr* bare_rr(const std::string& owner, ldns_rr_type type, ldns_rr_class cls,
                        std::uint32_t ttl = 0) {
    ldns_rr* rr = ldns_rr_new();
    ldns_rdf* name = ldns_dname_new_frm_str(owner.c_str());
    if (rr == nullptr || name == nullptr) {
        throw std::runtime_error("test: ldns allocation");
    }
    ldns_rr_set_owner(rr, name);
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, cls);
    ldns_rr_set_ttl(rr, ttl);
    return rr;
}

// An UPDATE for `zone` with the given prerequisite and update records (taken over).
inline LdnsPkt make_update(const std::string& zone, const std::vector<ldns_rr*>& prerequisites,
                           const std::vector<ldns_rr*>& updates, std::uint16_t id = 4242) {
    LdnsPkt pkt(ldns_pkt_new());
    ldns_pkt_set_id(pkt.get(), id);
    ldns_pkt_set_opcode(pkt.get(), LDNS_PACKET_UPDATE);
    ldns_rr* z = ldns_rr_new();
    ldns_rr_set_owner(z, ldns_dname_new_frm_str(zone.c_str()));
    ldns_rr_set_type(z, LDNS_RR_TYPE_SOA);
    ldns_rr_set_class(z, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(z, true);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, z);
    for (ldns_rr* rr : prerequisites) {
        ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ANSWER, rr);
    }
    for (ldns_rr* rr : updates) {
        ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, rr);
    }
    return pkt;
}

// A query for `name` `type` (IN).
inline LdnsPkt make_query(const std::string& name, ldns_rr_type type, bool rd = false,
                          std::uint16_t id = 777) {
    LdnsPkt pkt(ldns_pkt_new());
    ldns_pkt_set_id(pkt.get(), id);
    ldns_pkt_set_rd(pkt.get(), rd);
    ldns_rr* q = ldns_rr_new();
    ldns_rr_set_owner(q, ldns_dname_new_frm_str(name.c_str()));
    ldns_rr_set_type(q, type);
    ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(q, true);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, q);
    return pkt;
}

inline std::string ldns_alg_name(TsigAlgorithm alg) {
    return std::string(wire_name(alg)) + ".";
}

// Signs `pkt` with ldns (time signed = now) and returns its wire form.
inline std::vector<std::uint8_t> signed_wire(ldns_pkt* pkt, const TsigKey& key,
                                             std::uint16_t fudge = 300) {
    const std::string name = key.name.fqdn();
    const std::string alg = ldns_alg_name(key.algorithm);
    if (ldns_pkt_tsig_sign(pkt, name.c_str(), key.secret_base64().c_str(), fudge, alg.c_str(),
                           nullptr) != LDNS_STATUS_OK) {
        throw std::runtime_error("test: ldns_pkt_tsig_sign failed");
    }
    return to_wire(pkt);
}

inline TsigKey make_key(const std::string& name, TsigAlgorithm alg, std::uint8_t fill = 0x42,
                        std::size_t size = 32) {
    TsigKey key;
    key.name = DnsName::parse(name);
    key.algorithm = alg;
    key.secret.assign(size, fill);
    for (std::size_t i = 0; i < size; ++i) {
        key.secret[i] = static_cast<std::uint8_t>(fill + i * 7);
    }
    return key;
}

inline LdnsPkt parse_wire(const std::vector<std::uint8_t>& wire) {
    ldns_pkt* pkt = nullptr;
    if (ldns_wire2pkt(&pkt, wire.data(), wire.size()) != LDNS_STATUS_OK) {
        throw std::runtime_error("test: answer does not parse");
    }
    return LdnsPkt(pkt);
}

// The MAC of a message's TSIG record (as ldns parsed it), for ldns_pkt_tsig_verify.
inline const ldns_rdf* tsig_mac_rdf(const ldns_pkt* pkt) {
    const ldns_rr* t = ldns_pkt_tsig(pkt);
    return t != nullptr ? ldns_rr_rdf(t, 3) : nullptr;
}

// True when ldns verifies `answer` as signed by `key` in reply to a request with `request_mac`.
inline bool ldns_verifies_answer(const std::vector<std::uint8_t>& answer, const TsigKey& key,
                                 const ldns_rdf* request_mac) {
    LdnsPkt pkt = parse_wire(answer);
    const std::string name = key.name.fqdn();
    return ldns_pkt_tsig_verify(pkt.get(), answer.data(), answer.size(), name.c_str(),
                                key.secret_base64().c_str(), request_mac);
}

inline std::uint8_t rcode_of(const std::vector<std::uint8_t>& wire) {
    return wire.size() >= 4 ? wire[3] & 0x0f : 0xff;
}

}  // namespace acmezone::plugin::testing
