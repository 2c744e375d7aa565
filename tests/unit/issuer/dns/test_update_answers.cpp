// How ChallengeDns judges a control socket's answer to its UPDATE, for the
// answers a real named cannot be made to give on demand: an unsigned NOERROR,
// a NOERROR whose MAC does not verify, BADTIME (needs clocks minutes apart).
// The control socket here is faked, and only it: a UDP responder on
// 127.0.0.1 that answers SOA queries REFUSED (so the owner is the zone) and
// each UPDATE as the test says, signed with ldns as a server would sign.
// A correctly signed NOERROR is the positive control: it must be accepted.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <functional>
#include <thread>

#include "common/base64.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/ldns_glue.h"

namespace acmezone::issuer {
namespace {

using ::testing::HasSubstr;

TsigKey test_key(const std::string& name, std::uint8_t fill) {
    TsigKey key;
    key.name = DnsName::parse(name);
    key.algorithm = TsigAlgorithm::hmac_sha256;
    key.secret.assign(32, fill);
    return key;
}

// Builds the answer to an UPDATE: rcode, and how it is signed.
struct AnswerPlan {
    ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
    bool sign = true;
    TsigKey key = test_key("acme-key", 0x42);  // the key the server signs with
    std::uint16_t tsig_error = 0;
    std::int64_t server_clock_offset = 0;  // BADTIME: other data = now + offset
};

// A UDP "control socket" on 127.0.0.1 answering from its own thread.
class FakeControlSocket {
  public:
    explicit FakeControlSocket(AnswerPlan plan) : plan_(std::move(plan)) {
        fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sin;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
            throw std::runtime_error("cannot bind a UDP socket on 127.0.0.1");
        }
        endpoint_ = Endpoint::parse("127.0.0.1:" + std::to_string(ntohs(sin.sin_port)));
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeControlSocket() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    FakeControlSocket(const FakeControlSocket&) = delete;
    FakeControlSocket& operator=(const FakeControlSocket&) = delete;

    const Endpoint& endpoint() const { return endpoint_; }
    int updates_seen() const { return updates_seen_; }

  private:
    void serve() {
        std::vector<std::uint8_t> buf(65535);
        while (!stop_) {  // wakes every 50 ms to check stop_
            pollfd pfd{fd_, POLLIN, 0};
            if (::poll(&pfd, 1, 50) != 1) {
                continue;
            }
            sockaddr_storage from{};
            socklen_t from_len = sizeof from;
            ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0,
                                   reinterpret_cast<sockaddr*>(&from), &from_len);
            if (n <= 0) {
                continue;
            }
            std::vector<std::uint8_t> answer = respond(buf.data(), static_cast<std::size_t>(n));
            if (!answer.empty()) {
                ::sendto(fd_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from),
                         from_len);
            }
        }
    }

    std::vector<std::uint8_t> respond(const std::uint8_t* wire, std::size_t size) {
        ldns_pkt* raw = nullptr;
        if (ldns_wire2pkt(&raw, wire, size) != LDNS_STATUS_OK) {
            return {};
        }
        LdnsPkt request(raw);
        LdnsPkt answer(ldns_pkt_new());
        ldns_pkt_set_id(answer.get(), ldns_pkt_id(request.get()));
        ldns_pkt_set_qr(answer.get(), true);
        ldns_pkt_set_opcode(answer.get(), ldns_pkt_get_opcode(request.get()));
        ldns_rr_list_deep_free(ldns_pkt_question(answer.get()));
        ldns_pkt_set_question(answer.get(), ldns_rr_list_clone(ldns_pkt_question(request.get())));
        ldns_pkt_set_qdcount(answer.get(), ldns_pkt_qdcount(request.get()));
        if (ldns_pkt_get_opcode(request.get()) != LDNS_PACKET_UPDATE) {
            ldns_pkt_set_rcode(answer.get(), LDNS_RCODE_REFUSED);
            return wire_of(answer.get());
        }
        ++updates_seen_;
        ldns_pkt_set_rcode(answer.get(), plan_.rcode);
        const ldns_rr* request_tsig = ldns_pkt_tsig(request.get());
        if (plan_.sign && request_tsig != nullptr) {
            std::string secret = base64_encode(plan_.key.secret);
            ldns_status st =
                ldns_pkt_tsig_sign(answer.get(), plan_.key.name.fqdn().c_str(), secret.c_str(), 300,
                                   "hmac-sha256", ldns_rr_rdf(request_tsig, 3));
            if (st != LDNS_STATUS_OK) {
                ADD_FAILURE() << "fake server cannot sign: " << ldns_get_errorstr_by_id(st);
                return {};
            }
            if (plan_.tsig_error != 0) {
                ldns_rr* tsig = ldns_pkt_tsig(answer.get());
                std::uint8_t err[2] = {static_cast<std::uint8_t>(plan_.tsig_error >> 8),
                                       static_cast<std::uint8_t>(plan_.tsig_error & 0xff)};
                ldns_rdf_deep_free(
                    ldns_rr_set_rdf(tsig, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16, 2, err), 5));
                std::uint64_t t = static_cast<std::uint64_t>(
                    static_cast<std::int64_t>(std::time(nullptr)) + plan_.server_clock_offset);
                std::uint8_t other[8] = {0, 6};  // length 6, then the 48-bit time
                for (int i = 0; i < 6; ++i) {
                    other[2 + i] = static_cast<std::uint8_t>(t >> (8 * (5 - i)));
                }
                ldns_rdf_deep_free(ldns_rr_set_rdf(
                    tsig, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 8, other), 6));
            }
        }
        return wire_of(answer.get());
    }

    static std::vector<std::uint8_t> wire_of(const ldns_pkt* pkt) {
        std::uint8_t* raw = nullptr;
        std::size_t size = 0;
        if (ldns_pkt2wire(&raw, pkt, &size) != LDNS_STATUS_OK) {
            return {};
        }
        std::unique_ptr<std::uint8_t, LdnsMallocFree> owned(raw);
        return std::vector<std::uint8_t>(raw, raw + size);
    }

    AnswerPlan plan_;
    int fd_ = -1;
    Endpoint endpoint_;
    std::atomic<bool> stop_{false};
    std::atomic<int> updates_seen_{0};
    std::thread thread_;
};

DnsSettings settings_for(const FakeControlSocket& control) {
    DnsSettings s;
    s.controls = {control.endpoint()};
    s.key = test_key("acme-key", 0x42);
    s.resolver = control.endpoint();
    s.timeout = std::chrono::milliseconds(1000);
    return s;
}

std::string publish_error(const FakeControlSocket& control) {
    ChallengeDns dns(settings_for(control));
    try {
        dns.publish(DnsName::parse("_acme-challenge.example.com"), {"v1", "v2"});
    } catch (const DnsError& e) {
        return e.what();
    }
    return "";
}

TEST(UpdateAnswers, SignedNoerrorIsAccepted) {
    FakeControlSocket control(AnswerPlan{});
    EXPECT_EQ(publish_error(control), "");
    EXPECT_EQ(control.updates_seen(), 1);
}

TEST(UpdateAnswers, UnsignedNoerrorIsNotTrusted) {
    AnswerPlan plan;
    plan.sign = false;
    FakeControlSocket control(plan);
    std::string msg = publish_error(control);
    EXPECT_THAT(msg,
                HasSubstr("control socket " + control.endpoint().to_string() +
                          " answered NOERROR for _acme-challenge.example.com but did not sign"));
}

TEST(UpdateAnswers, NoerrorWithWrongMacIsNotTrusted) {
    AnswerPlan plan;
    plan.key = test_key("acme-key", 0x43);  // same name, other secret
    FakeControlSocket control(plan);
    std::string msg = publish_error(control);
    EXPECT_THAT(msg, HasSubstr("signature that does not verify with key acme-key"));
}

TEST(UpdateAnswers, NoerrorSignedWithAnotherKeyIsNotTrusted) {
    AnswerPlan plan;
    plan.key = test_key("someone-else", 0x42);
    FakeControlSocket control(plan);
    std::string msg = publish_error(control);
    EXPECT_THAT(msg, HasSubstr("signed with key someone-else instead of acme-key"));
}

TEST(UpdateAnswers, BadtimeSaysClocksDiffer) {
    AnswerPlan plan;
    plan.rcode = LDNS_RCODE_NOTAUTH;
    plan.tsig_error = 18;
    plan.server_clock_offset = 1000;
    FakeControlSocket control(plan);
    std::string msg = publish_error(control);
    EXPECT_THAT(msg, HasSubstr("answered NOTAUTH for _acme-challenge.example.com with TSIG error "
                               "BADTIME"));
    EXPECT_THAT(msg, HasSubstr("clocks differ"));
    // 1000 s, give or take the second that may tick between the two clocks read.
    EXPECT_THAT(msg, ::testing::ContainsRegex("clock is (999|1000|1001) s ahead of this host's"));
}

}  // namespace
}  // namespace acmezone::issuer
