// AXFR over TCP: see axfr_client.h.
#include "common/axfr_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>

#include "common/dns_wire.h"
#include "common/tsig_signer.h"
#include "common/unique_fd.h"

namespace acmezone {
namespace {

using Clock = std::chrono::steady_clock;

// One TCP connection with a deadline for every wait on it.
class Connection {
  public:
    Connection(const Endpoint& server, Clock::time_point deadline, std::string who)
        : deadline_(deadline), who_(std::move(who)) {
        fd_ = UniqueFd(::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (fd_.get() < 0) {
            fail(std::string("cannot open a TCP socket: ") + std::strerror(errno));
        }
        if (::connect(fd_.get(), server.sockaddr_ptr(), server.addr_len) != 0 &&
            errno != EINPROGRESS) {
            fail(std::string("cannot connect: ") + std::strerror(errno));
        }
        wait(POLLOUT, "connection");
        int error = 0;
        socklen_t len = sizeof error;
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
            fail(error == ECONNREFUSED ? "connection refused (nothing listens on TCP there)"
                                       : std::string("cannot connect: ") + std::strerror(error));
        }
    }

    void send(const std::vector<std::uint8_t>& message) {
        std::vector<std::uint8_t> out;
        out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(message.size() & 0xff));
        out.insert(out.end(), message.begin(), message.end());
        std::size_t done = 0;
        while (done < out.size()) {  // bounded by the deadline
            const ssize_t n = ::send(fd_.get(), out.data() + done, out.size() - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                wait(POLLOUT, "the query to be sent");
            } else {
                fail(std::string("cannot send the query: ") + std::strerror(errno));
            }
        }
    }

    std::vector<std::uint8_t> receive_message() {
        std::uint8_t length[2];
        read_exactly(length, 2);
        std::vector<std::uint8_t> message(static_cast<std::size_t>(length[0]) << 8 | length[1]);
        read_exactly(message.data(), message.size());
        return message;
    }

    [[noreturn]] void fail(const std::string& what) const { throw AxfrError(who_ + ": " + what); }

  private:
    void read_exactly(std::uint8_t* to, std::size_t size) {
        std::size_t done = 0;
        while (done < size) {  // bounded by the deadline
            const ssize_t n = ::recv(fd_.get(), to + done, size - done, 0);
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n == 0) {
                fail("the server closed the connection before the transfer ended");
            } else if (errno == EAGAIN || errno == EINTR) {
                wait(POLLIN, "an answer");
            } else {
                fail(std::string("cannot read the answer: ") + std::strerror(errno));
            }
        }
    }

    void wait(short events, const char* what) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
        pollfd p{fd_.get(), events, 0};
        const int r = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (r == 0) {
            fail(std::string("no ") + what + " before the deadline");
        }
        if (r < 0 && errno != EINTR) {
            fail(std::string("poll: ") + std::strerror(errno));
        }
    }

    UniqueFd fd_;
    Clock::time_point deadline_;
    std::string who_;
};

std::string verdict_text(const TsigSigner::Verdict& v, const DnsName& key) {
    switch (v.kind) {
        case TsigSigner::Verdict::Kind::ok:
            return "ok";
        case TsigSigner::Verdict::Kind::tsig_error:
            return "the server refused key " + key.text() + ": " + tsig_error_name(v.tsig_error);
        case TsigSigner::Verdict::Kind::unsigned_answer:
            return "an answer is not signed (key " + key.text() + " was asked for)";
        case TsigSigner::Verdict::Kind::other_key:
            return "an answer is signed with key " + v.detail + ", not " + key.text();
        case TsigSigner::Verdict::Kind::bad_mac:
            return "an answer's TSIG MAC does not verify with key " + key.text();
        case TsigSigner::Verdict::Kind::bad_time:
            return "an answer's TSIG time is off by " + std::to_string(v.skew.value_or(0)) +
                   " s (check the clocks)";
    }
    return "unknown TSIG verdict";
}

// One answer message's ID and QR.
void check_header(Connection& conn, const ldns_pkt* pkt, std::uint16_t id) {
    if (ldns_pkt_id(pkt) != id || !ldns_pkt_qr(pkt)) {
        conn.fail("an answer with another ID or without QR");
    }
}

void check_rcode(Connection& conn, const ldns_pkt* pkt, ldns_rr_type type) {
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(pkt);
    if (rcode != LDNS_RCODE_NOERROR) {
        const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode));
        conn.fail(std::string("the server answered ") +
                  (entry != nullptr && entry->name != nullptr ? entry->name
                                                              : "RCODE " + std::to_string(rcode)) +
                  (type == LDNS_RR_TYPE_AXFR ? " (is the transfer allowed to this address and key?)"
                                             : " (does the server serve the zone?)"));
    }
}

// One query on a connection and the checks of each answer message to it:
// ID and QR; when signed, the TSIG (the first answer against the request's
// MAC, each next one against the previous answer's); then the RCODE. At most
// kMaxAxfrOctets are received in all.
class Exchange {
  public:
    Exchange(Connection& conn, const DnsName& zone, ldns_rr_type type, const TsigKey* key)
        : conn_(conn), key_(key), type_(type) {
        LdnsPkt query(ldns_pkt_query_new(to_ldns_dname(zone).release(), type, LDNS_RR_CLASS_IN, 0));
        if (!query) {
            conn_.fail("cannot build the query");
        }
        id_ = random_message_id();
        ldns_pkt_set_id(query.get(), id_);
        if (key_ != nullptr) {
            signer_.emplace(*key_);
            request_ = signer_->sign(query.get());
        } else {
            request_.wire = to_wire(query.get());
        }
        conn_.send(request_.wire);
    }

    LdnsPkt next_answer() {
        std::vector<std::uint8_t> wire = conn_.receive_message();
        octets_ += wire.size();
        if (octets_ > kMaxAxfrOctets) {
            conn_.fail("more than " + std::to_string(kMaxAxfrOctets) + " octets");
        }
        std::string why;
        LdnsPkt pkt = parse_message(wire, &why);
        if (!pkt) {
            conn_.fail("an answer that does not parse (" + why + ")");
        }
        check_header(conn_, pkt.get(), id_);
        if (signer_) {  // a TSIG error says more than the rcode (NOTAUTH) that comes with it
            const auto now = static_cast<std::uint64_t>(std::time(nullptr));
            const TsigSigner::Verdict v =
                answers_ == 0 ? signer_->check_answer(pkt.get(), wire, request_, now)
                              : signer_->check_next(pkt.get(), wire, previous_mac_.get(), now);
            if (v.kind == TsigSigner::Verdict::Kind::tsig_error) {
                conn_.fail(verdict_text(v, key_->name));
            }
            check_rcode(conn_, pkt.get(), type_);
            if (v.kind != TsigSigner::Verdict::Kind::ok) {
                conn_.fail(verdict_text(v, key_->name));
            }
            previous_mac_.reset(ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), 3)));
        } else {
            check_rcode(conn_, pkt.get(), type_);
        }
        ++answers_;
        return pkt;
    }

  private:
    Connection& conn_;
    const TsigKey* key_;
    ldns_rr_type type_;
    std::uint16_t id_ = 0;
    std::optional<TsigSigner> signer_;
    TsigSigner::Signed request_;
    LdnsRdf previous_mac_;
    std::size_t answers_ = 0;
    std::size_t octets_ = 0;
};

}  // namespace

std::vector<LdnsRr> transfer_zone(const Endpoint& server, const DnsName& zone, const TsigKey* key,
                                  std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    Connection conn(server, deadline, "AXFR of " + zone.text() + " from " + server.to_string());
    Exchange exchange(conn, zone, LDNS_RR_TYPE_AXFR, key);

    std::vector<LdnsRr> records;
    std::size_t soas = 0;
    while (soas < 2) {  // bounded by kMaxAxfrOctets and the deadline
        const LdnsPkt pkt = exchange.next_answer();
        const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
        const std::size_t count = ldns_rr_list_rr_count(answer);
        if (count == 0) {
            conn.fail("an answer message without records");
        }
        for (std::size_t i = 0; i < count && soas < 2; ++i) {
            const ldns_rr* rr = ldns_rr_list_rr(answer, i);
            const bool soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
            if (records.empty() && !soa) {
                conn.fail("the transfer does not start with the zone's SOA");
            }
            soas += soa ? 1 : 0;
            records.emplace_back(ldns_rr_clone(rr));
        }
    }
    return records;
}

std::uint32_t query_soa_serial(const Endpoint& server, const DnsName& zone, const TsigKey* key,
                               std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    Connection conn(server, deadline, "SOA query for " + zone.text() + " to " + server.to_string());
    Exchange exchange(conn, zone, LDNS_RR_TYPE_SOA, key);
    const LdnsPkt pkt = exchange.next_answer();
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    const LdnsRdf owner = to_ldns_dname(zone);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(answer, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA && ldns_rr_rd_count(rr) == 7 &&
            ldns_dname_compare(ldns_rr_owner(rr), owner.get()) == 0) {
            return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
        }
    }
    conn.fail("the answer holds no SOA of the zone (is the server authoritative for it?)");
}

}  // namespace acmezone
