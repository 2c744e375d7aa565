// send_update: a test tool that sends one TSIG-signed UPDATE with chosen
// faults, for what nsupdate cannot be made to send (a stale time signed, a
// truncated MAC), and prints how the server answered:
//
//   send_update SERVER:PORT KEYNAME ALGORITHM SECRET_BASE64 ZONE NAME VALUE
//               [--time-offset SECONDS] [--mac-length OCTETS]
//   → "rcode=NOTAUTH tsig_error=BADTIME answer_mac=valid other_time_delta=-400"
//
// The UPDATE adds TXT VALUE at NAME in ZONE. The request's MAC is computed
// with the plugin's tsig_mac() (checked against ldns and nsupdate by the
// unit tests); the answer's MAC is checked with ldns_pkt_tsig_verify, an
// independent implementation. answer_mac is "valid", "invalid" or "none";
// other_time_delta (BADTIME only) is the server time in Other Data minus
// the time signed. Exit status 0 when an answer came, 1 on timeout, 2 on
// bad arguments. UDP, one try, 3 s timeout.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <string>
#include <vector>

#include "common/base64.h"
#include "common/endpoint.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"

using namespace acmezone;
using namespace acmezone::plugin;

namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

int usage() {
    std::cerr << "usage: send_update SERVER:PORT KEYNAME ALGORITHM SECRET_BASE64 ZONE NAME VALUE "
                 "[--time-offset SECONDS] [--mac-length OCTETS]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 8) {
        return usage();
    }
    try {
        const Endpoint server = Endpoint::parse(argv[1]);
        TsigKey key;
        key.name = DnsName::parse(argv[2]);
        const auto alg = tsig_algorithm_from_name(argv[3]);
        const auto secret = base64_decode(argv[4]);
        if (!alg || !secret) {
            std::cerr << "send_update: bad algorithm or secret\n";
            return 2;
        }
        key.algorithm = *alg;
        key.secret = *secret;
        const std::string zone = argv[5], name = argv[6], value = argv[7];
        long offset = 0;
        std::size_t mac_length = mac_size(key.algorithm);
        for (int i = 8; i + 1 < argc; i += 2) {
            const std::string opt = argv[i];
            if (opt == "--time-offset") {
                offset = std::stol(argv[i + 1]);
            } else if (opt == "--mac-length") {
                mac_length = std::stoul(argv[i + 1]);
            } else {
                return usage();
            }
        }

        // The UPDATE, rendered by ldns.
        LdnsPkt pkt(ldns_pkt_new());
        ldns_pkt_set_id(pkt.get(), static_cast<std::uint16_t>(::getpid()));
        ldns_pkt_set_opcode(pkt.get(), LDNS_PACKET_UPDATE);
        ldns_rr* z = ldns_rr_new();
        ldns_rr_set_owner(z, ldns_dname_new_frm_str(zone.c_str()));
        ldns_rr_set_type(z, LDNS_RR_TYPE_SOA);
        ldns_rr_set_class(z, LDNS_RR_CLASS_IN);
        ldns_rr_set_question(z, true);
        ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_QUESTION, z);
        ldns_rr* add = nullptr;
        const std::string text = name + ". 60 IN TXT \"" + value + "\"";
        if (ldns_rr_new_frm_str(&add, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
            std::cerr << "send_update: bad record " << text << "\n";
            return 2;
        }
        ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, add);
        std::vector<std::uint8_t> wire = to_wire(pkt.get());

        // Its TSIG, with the chosen time and MAC length.
        TsigRecord t;
        t.key_name = key.name;
        t.algorithm = DnsName::parse(wire_name(key.algorithm));
        t.time_signed = static_cast<std::uint64_t>(std::time(nullptr) + offset);
        t.fudge = 300;
        t.original_id = ldns_pkt_id(pkt.get());
        auto mac = tsig_mac(key, {}, false, wire, t);
        mac.resize(mac_length, 0);
        std::vector<std::uint8_t> rdata = name_to_wire(t.algorithm);
        for (int s = 40; s >= 0; s -= 8) {
            rdata.push_back(static_cast<std::uint8_t>((t.time_signed >> s) & 0xff));
        }
        put16(rdata, t.fudge);
        put16(rdata, static_cast<std::uint16_t>(mac.size()));
        rdata.insert(rdata.end(), mac.begin(), mac.end());
        put16(rdata, t.original_id);
        put16(rdata, 0);
        put16(rdata, 0);
        const auto owner = name_to_wire(key.name);
        const std::vector<std::uint8_t> request_mac = mac;
        wire.insert(wire.end(), owner.begin(), owner.end());
        put16(wire, 250);
        put16(wire, 255);
        put16(wire, 0);
        put16(wire, 0);
        put16(wire, static_cast<std::uint16_t>(rdata.size()));
        wire.insert(wire.end(), rdata.begin(), rdata.end());
        wire[11] = static_cast<std::uint8_t>(wire[11] + 1);

        const int fd = ::socket(server.family(), SOCK_DGRAM, 0);
        if (fd < 0) {
            std::perror("send_update: socket");
            return 1;
        }
        ::sendto(fd, wire.data(), wire.size(), 0, server.sockaddr_ptr(), server.addr_len);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 3000) != 1) {
            ::close(fd);
            std::cout << "timeout\n";
            return 1;
        }
        std::vector<std::uint8_t> answer(65535);
        const ssize_t got = ::recv(fd, answer.data(), answer.size(), 0);
        ::close(fd);
        answer.resize(static_cast<std::size_t>(got > 0 ? got : 0));

        ldns_pkt* raw = nullptr;
        if (ldns_wire2pkt(&raw, answer.data(), answer.size()) != LDNS_STATUS_OK) {
            std::cout << "rcode=unparsable\n";
            return 0;
        }
        LdnsPkt a(raw);
        std::cout << "rcode=" << rcode_name(ldns_pkt_get_rcode(a.get()));
        const ldns_rr* tsig = ldns_pkt_tsig(a.get());
        if (tsig == nullptr) {
            std::cout << " tsig_error=none answer_mac=none\n";
            return 0;
        }
        const std::uint16_t error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
        const char* names[] = {"BADSIG", "BADKEY", "BADTIME"};
        std::cout << " tsig_error="
                  << (error == 0                   ? std::string("NOERROR")
                      : error >= 16 && error <= 18 ? std::string(names[error - 16])
                      : error == 22                ? std::string("BADTRUNC")
                                                   : std::to_string(error));
        std::string verdict = "none";
        if (ldns_rdf_size(ldns_rr_rdf(tsig, 3)) > 2) {
            std::vector<std::uint8_t> mac_rdf_data;
            put16(mac_rdf_data, static_cast<std::uint16_t>(request_mac.size()));
            mac_rdf_data.insert(mac_rdf_data.end(), request_mac.begin(), request_mac.end());
            ldns_rdf* req_mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, mac_rdf_data.size(),
                                                      mac_rdf_data.data());
            const std::string key_name = key.name.fqdn();
            const std::string secret_b64 = key.secret_base64();
            verdict = ldns_pkt_tsig_verify(a.get(), answer.data(), answer.size(), key_name.c_str(),
                                           secret_b64.c_str(), req_mac)
                          ? "valid"
                          : "invalid";
            ldns_rdf_deep_free(req_mac);
        }
        std::cout << " answer_mac=" << verdict;
        if (error == kTsigBadTime) {
            const ldns_rdf* other = ldns_rr_rdf(tsig, 6);
            if (ldns_rdf_size(other) == 8) {
                std::uint64_t server_time = 0;
                for (std::size_t i = 2; i < 8; ++i) {
                    server_time = server_time << 8 | ldns_rdf_data(other)[i];
                }
                std::cout << " other_time_delta="
                          << static_cast<long long>(server_time) -
                                 static_cast<long long>(t.time_signed);
            }
        }
        std::cout << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "send_update: " << e.what() << "\n";
        return 2;
    }
}
