// The control socket's bad-input catalogue (issue 7): each case sends one
// bad input to a real ControlServer (127.0.0.1 port 0, memory-only store
// holding three seeded values, max 3 values per name and 5 in all) and
// asserts the exact answer (RCODE, the TSIG error or that the answer is
// unsigned, or no answer / connection closed) AND that the store's snapshot
// (every value, its expiry, the serial) is what it was before.
// Requests are built with ldns or by hand; hand-made ones are signed here
// with OpenSSL's HMAC (not the plugin's code).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "plugin/control_server.h"
#include "plugin/tsig_verifier.h"
#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace acmezone::plugin::testing;
using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

class Fixture;

// What a case must get back.
struct Expect {
    enum class Kind { answer, no_answer, closed } kind = Kind::answer;
    int rcode = 0;
    int tsig_error = -1;  // -1: the answer carries no TSIG; else its Error field
};
Expect answer(int rcode, int tsig_error = -1) {
    return {Expect::Kind::answer, rcode, tsig_error};
}
const Expect kNoAnswer{Expect::Kind::no_answer, 0, -1};
const Expect kClosed{Expect::Kind::closed, 0, -1};

enum class Via { udp, tcp, custom };

struct Case {
    Case(const char* n, Via v, std::function<Bytes(Fixture&)> b, Expect e,
         std::function<void(Fixture&)> p = nullptr)
        : name(n), via(v), build(std::move(b)), expect(e), prime(std::move(p)) {}
    const char* name;
    Via via;
    std::function<Bytes(Fixture&)> build;  // the request (udp/tcp); for custom, runs the case
    Expect expect;
    std::function<void(Fixture&)> prime;  // run before the "before" snapshot
};
void PrintTo(const Case& c, std::ostream* os) {
    *os << c.name;
}

// Builders, defined after the fixture.
Bytes good_update(Fixture& f);
Bytes cut(Fixture& f, std::size_t keep);
Bytes cut_from_end(Fixture& f, std::size_t drop);
Bytes raw_with_question(const Bytes& qname, std::uint16_t qtype = 6, std::uint16_t opcode = 5);
Bytes label_name(const std::vector<std::string>& labels);
Bytes hand_signed_update(Fixture& f, const Bytes& update_rr, std::uint16_t upcount = 1);
Bytes txt_rr(const std::string& owner, const Bytes& rdata, std::uint16_t cls = 1,
             std::uint32_t ttl = 60);
struct SignOpts {
    std::int64_t time_offset = 0;
    std::size_t mac_len = 0;  // 0: full
    std::string algorithm;    // empty: the key's
    bool corrupt_mac = false;
};
Bytes sign_raw(Bytes msg, const TsigKey& key, const SignOpts& o = SignOpts());
SignOpts alg_opt(const char* algorithm) {
    SignOpts o;
    o.algorithm = algorithm;
    return o;
}
SignOpts mac_len_opt(std::size_t len) {
    SignOpts o;
    o.mac_len = len;
    return o;
}
SignOpts time_opt(std::int64_t offset) {
    SignOpts o;
    o.time_offset = offset;
    return o;
}
SignOpts corrupt_opt() {
    SignOpts o;
    o.corrupt_mac = true;
    return o;
}
Bytes ldns_update(Fixture& f, const TsigKey& key, const std::string& zone,
                  std::vector<ldns_rr*> prereq, std::vector<ldns_rr*> updates);
void custom_tcp_split(Fixture& f, const Bytes& m, Expect e);
void custom_tcp_short_then_close(Fixture& f);
void custom_tcp_idle(Fixture& f);
void custom_tcp_over_limit(Fixture& f);
void custom_tcp_thousands(Fixture& f);
const TsigKey& acme_key(Fixture& f);
const TsigKey& lab_key(Fixture& f);
Bytes unsigned_update();
const Bytes& primed(Fixture& f);
void prime(Fixture& f);

// clang-format off
const std::vector<Case> kCases = {
    // Truncated packets: shorter than a header (dropped), then cut at many points (FORMERR, unsigned).
    {"TruncatedTo4Octets", Via::udp, [](Fixture& f) { return cut(f, 4); }, kNoAnswer},
    // Cut to the bare header: counts promise a zone that is not there.
    {"TruncatedToHeader", Via::udp, [](Fixture& f) { return cut(f, 12); }, answer(kRcodeFormErr)},
    // Cut inside the zone name.
    {"TruncatedInZoneName", Via::udp, [](Fixture& f) { return cut(f, 15); }, answer(kRcodeFormErr)},
    // Cut inside the zone's type/class.
    {"TruncatedInZoneType", Via::udp, [](Fixture& f) { return cut(f, 26); }, answer(kRcodeFormErr)},
    // Cut inside the update record.
    {"TruncatedInUpdateRecord", Via::udp, [](Fixture& f) { return cut(f, 45); }, answer(kRcodeFormErr)},
    // Cut in the middle of the message.
    {"TruncatedAtHalf", Via::udp, [](Fixture& f) { return cut(f, good_update(f).size() / 2); }, answer(kRcodeFormErr)},
    // Cut inside the TSIG MAC.
    {"TruncatedInTsigMac", Via::udp, [](Fixture& f) { return cut_from_end(f, 20); }, answer(kRcodeFormErr)},
    // Last octet missing.
    {"TruncatedLastOctet", Via::udp, [](Fixture& f) { return cut_from_end(f, 1); }, answer(kRcodeFormErr)},
    // Oversized: a signed UPDATE followed by 60000 octets of junk.
    {"OversizedTrailingJunk", Via::udp, [](Fixture& f) { auto m = good_update(f); m.resize(m.size() + 60000, 0xab); return m; }, answer(kRcodeFormErr)},
    // Oversized: the largest IPv4 datagram, a header and zeros.
    {"OversizedMaxDatagramZeros", Via::udp, [](Fixture&) { Bytes m(65507, 0); m[0] = 0x12; m[1] = 0x34; return m; }, answer(kRcodeFormErr)},
    // Opcode STATUS, signed: NOTIMP, signed answer.
    {"OpcodeStatus", Via::udp, [](Fixture& f) { LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA); ldns_pkt_set_opcode(q.get(), LDNS_PACKET_STATUS); return signed_wire(q.get(), acme_key(f)); }, answer(kRcodeNotImp, 0)},
    // Opcode NOTIFY, unsigned, for a zone that is no followed catalog: REFUSED.
    {"OpcodeNotify", Via::udp, [](Fixture&) { LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA); ldns_pkt_set_opcode(q.get(), LDNS_PACKET_NOTIFY); return to_wire(q.get()); }, answer(kRcodeRefused)},
    // QR set: it is an answer, never answered.
    {"QrSet", Via::udp, [](Fixture& f) { auto m = good_update(f); m[2] |= 0x80; return m; }, kNoAnswer},
    // Zone class CH.
    {"ZoneClassChaos", Via::udp, [](Fixture& f) { LdnsPkt p = make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); ldns_rr_set_class(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0), LDNS_RR_CLASS_CH); return signed_wire(p.get(), acme_key(f)); }, answer(kRcodeFormErr, 0)},
    // Zone count 0.
    {"ZoneCount0", Via::udp, [](Fixture& f) { LdnsPkt p(ldns_pkt_new()); ldns_pkt_set_opcode(p.get(), LDNS_PACKET_UPDATE); ldns_pkt_push_rr(p.get(), LDNS_SECTION_AUTHORITY, rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")); return signed_wire(p.get(), acme_key(f)); }, answer(kRcodeFormErr, 0)},
    // Zone count 2.
    {"ZoneCount2", Via::udp, [](Fixture& f) { LdnsPkt p = make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); ldns_rr* z = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0)); ldns_pkt_push_rr(p.get(), LDNS_SECTION_QUESTION, z); return signed_wire(p.get(), acme_key(f)); }, answer(kRcodeFormErr, 0)},
    // Zone type TXT instead of SOA.
    {"ZoneTypeNotSoa", Via::udp, [](Fixture& f) { LdnsPkt p = make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0), LDNS_RR_TYPE_TXT); return signed_wire(p.get(), acme_key(f)); }, answer(kRcodeFormErr, 0)},
    // Compression pointer to itself.
    {"CompressionSelfLoop", Via::udp, [](Fixture&) { return raw_with_question({0xc0, 0x0c}); }, answer(kRcodeFormErr)},
    // Two pointers pointing at each other (12 -> 14 -> 12).
    {"CompressionTwoPointerLoop", Via::udp, [](Fixture&) { return raw_with_question({0xc0, 0x0e, 0xc0, 0x0c}); }, answer(kRcodeFormErr)},
    // Pointer far beyond the message.
    {"CompressionPointerOutOfRange", Via::udp, [](Fixture&) { return raw_with_question({0xff, 0xff}); }, answer(kRcodeFormErr)},
    // A zone name of 5 x 63-octet labels (321 octets).
    {"NameOver255Octets", Via::udp, [](Fixture&) { return raw_with_question(label_name(std::vector<std::string>(5, std::string(63, 'a')))); }, answer(kRcodeFormErr)},
    // A label length of 64 (0x40: a reserved label type).
    {"LabelOver63", Via::udp, [](Fixture&) { Bytes n{64}; n.insert(n.end(), 64, 'a'); n.push_back(0); return raw_with_question(n); }, answer(kRcodeFormErr)},
    // TXT character-string claiming 200 octets in a 10-octet RDATA, signed.
    {"TxtStringLongerThanRdata", Via::udp, [](Fixture& f) { Bytes rd{200}; rd.insert(rd.end(), 9, 'x'); return hand_signed_update(f, txt_rr("_acme-challenge.example.com", rd)); }, answer(kRcodeFormErr, 0)},
    // TXT RDLENGTH running past the end of the message.
    {"TxtRdlengthPastMessage", Via::udp, [](Fixture& f) { Bytes rr = txt_rr("_acme-challenge.example.com", {3, 'a', 'b', 'c'}); rr[rr.size() - 6] = 0xff; return hand_signed_update(f, rr); }, answer(kRcodeFormErr)},
    // TXT RDATA of 5 x 255-octet strings (1280 octets, over the 1024 limit).
    {"TxtRdataOver1024Octets", Via::udp, [](Fixture& f) { const std::string s(255, 'v'); std::string t = "_acme-challenge.example.com. 60 IN TXT"; for (int i = 0; i < 5; ++i) { t += " \"" + s + "\""; } return ldns_update(f, acme_key(f), "example.com", {}, {rr_from(t)}); }, answer(kRcodeRefused, 0)},
    // Two more values at a name holding 2, max 3 per name.
    {"OverValuesPerName", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {}, {rr_from("x.acme.example.net. 60 IN TXT \"c\""), rr_from("x.acme.example.net. 60 IN TXT \"d\"")}); }, answer(kRcodeRefused, 0)},
    // Three values at new names, store holding 3, max 5 in all.
    {"OverTotalValues", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {}, {rr_from("y1.acme.example.net. 60 IN TXT \"1\""), rr_from("y2.acme.example.net. 60 IN TXT \"2\""), rr_from("y3.acme.example.net. 60 IN TXT \"3\"")}); }, answer(kRcodeRefused, 0)},
    // UPDATE without TSIG.
    {"TsigMissing", Via::udp, [](Fixture&) { LdnsPkt p = make_update("example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); return to_wire(p.get()); }, answer(kRcodeRefused)},
    // Key not in the keyring.
    {"TsigUnknownKey", Via::udp, [](Fixture& f) { return ldns_update(f, make_key("stranger", TsigAlgorithm::hmac_sha256), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); }, answer(kRcodeNotAuth, kTsigBadKey)},
    // acme-key (HMAC-SHA256) used with HMAC-SHA512.
    {"TsigWrongAlgorithm", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), alg_opt("hmac-sha512")); }, answer(kRcodeNotAuth, kTsigBadKey)},
    // MAC truncated to 16 of 32 octets (allowed size, not accepted here).
    {"TsigTruncatedMac16", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), mac_len_opt(16)); }, answer(kRcodeNotAuth, kTsigBadTrunc)},
    // MAC truncated to 8 octets (below the minimum of RFC 8945).
    {"TsigTruncatedMac8", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), mac_len_opt(8)); }, answer(kRcodeFormErr)},
    // MAC with one bit flipped.
    {"TsigBadMac", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), corrupt_opt()); }, answer(kRcodeNotAuth, kTsigBadSig)},
    // The MAC of an applied UPDATE sent again with another header ID.
    {"TsigReplayOtherId", Via::udp, [](Fixture& f) { auto m = primed(f); m[1] ^= 0x33; return m; }, answer(kRcodeRefused, 0), [](Fixture& f) { prime(f); }},
    // The same applied UPDATE sent again over TCP after it was answered over UDP.
    {"TsigReplayOverOtherTransport", Via::tcp, [](Fixture& f) { return primed(f); }, answer(kRcodeRefused, 0), [](Fixture& f) { prime(f); }},
    // Signed 310 s ago (fudge 300).
    {"TsigTimeTooOld", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), time_opt(-310)); }, answer(kRcodeNotAuth, kTsigBadTime)},
    // Signed 310 s in the future.
    {"TsigTimeInFuture", Via::udp, [](Fixture& f) { return sign_raw(unsigned_update(), acme_key(f), time_opt(310)); }, answer(kRcodeNotAuth, kTsigBadTime)},
    // A record after the TSIG record.
    {"TsigNotLast", Via::udp, [](Fixture& f) { auto m = good_update(f); const Bytes extra = txt_rr("_acme-challenge.example.com", {1, 'z'}); m.insert(m.end(), extra.begin(), extra.end()); m[11] = static_cast<std::uint8_t>(m[11] + 1); return m; }, answer(kRcodeFormErr)},
    // Two TSIG records.
    {"TsigTwice", Via::udp, [](Fixture& f) { auto once = sign_raw(unsigned_update(), acme_key(f)); return sign_raw(once, acme_key(f)); }, answer(kRcodeFormErr)},
    // lab-key writing a name it is not granted.
    {"OutsideGrant", Via::udp, [](Fixture& f) { return ldns_update(f, lab_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); }, answer(kRcodeRefused, 0)},
    // A granted name and one not granted in one UPDATE: nothing applied.
    {"MixedAllowedAndForbidden", Via::udp, [](Fixture& f) { return ldns_update(f, lab_key(f), "example.com", {}, {rr_from("_acme-challenge.www.example.com. 60 IN TXT \"ok\""), rr_from("_acme-challenge.example.com. 60 IN TXT \"no\"")}); }, answer(kRcodeRefused, 0)},
    // A record added.
    {"TypeA", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN A 192.0.2.1")}); }, answer(kRcodeRefused, 0)},
    // CNAME added.
    {"TypeCname", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN CNAME x.example.net.")}); }, answer(kRcodeRefused, 0)},
    // NS added.
    {"TypeNs", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN NS ns9.example.net.")}); }, answer(kRcodeRefused, 0)},
    // SOA added.
    {"TypeSoa", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN SOA a. b. 1 2 3 4 5")}); }, answer(kRcodeRefused, 0)},
    // Delete the SOA at a claimed apex.
    {"DeleteApexSoa", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {bare_rr("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_ANY)}); }, answer(kRcodeRefused, 0)},
    // Delete the NS at a claimed apex.
    {"DeleteApexNs", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {}, {bare_rr("acme.example.net.", LDNS_RR_TYPE_NS, LDNS_RR_CLASS_ANY)}); }, answer(kRcodeRefused, 0)},
    // AXFR (a meta type) as an update.
    {"MetaTypeAxfr", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.com", {}, {bare_rr("_acme-challenge.example.com.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_ANY)}); }, answer(kRcodeFormErr, 0)},
    // Update of a name outside the zone section.
    {"UpdateOutsideZone", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}); }, answer(kRcodeNotZone, 0)},
    // A zone not claimed and with no claimed zone below it.
    {"ZoneNotServed", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "example.org", {}, {rr_from("_acme-challenge.example.org. 60 IN TXT \"v\"")}); }, answer(kRcodeNotAuth, 0)},
    // Prerequisite "name is in use" on an empty name.
    {"PrereqNameInUseFails", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {bare_rr("z.acme.example.net.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeNxDomain, 0)},
    // Prerequisite "name is not in use" on a name with values.
    {"PrereqNameNotInUseFails", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {bare_rr("x.acme.example.net.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE)}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeYxDomain, 0)},
    // Prerequisite "TXT RRset exists" on an empty name.
    {"PrereqRrsetExistsFails", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {bare_rr("z.acme.example.net.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY)}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeNxRrset, 0)},
    // Prerequisite "TXT RRset does not exist" on a name with values.
    {"PrereqRrsetNotExistsFails", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {bare_rr("x.acme.example.net.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_NONE)}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeYxRrset, 0)},
    // Prerequisite "TXT RRset is exactly {wrong}" (value-dependent).
    {"PrereqRrsetValueFails", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {rr_from("x.acme.example.net. 0 IN TXT \"wrong\"")}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeNxRrset, 0)},
    // Prerequisite with a TTL other than 0.
    {"PrereqTtlNotZero", Via::udp, [](Fixture& f) { return ldns_update(f, acme_key(f), "acme.example.net", {bare_rr("x.acme.example.net.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY, 5)}, {rr_from("z.acme.example.net. 60 IN TXT \"v\"")}); }, answer(kRcodeFormErr, 0)},
    // TCP: an out-of-grant UPDATE sent one octet per write: REFUSED, signed.
    {"TcpSplitByteByByteRefused", Via::custom, [](Fixture& f) { custom_tcp_split(f, ldns_update(f, lab_key(f), "example.com", {}, {rr_from("_acme-challenge.example.com. 60 IN TXT \"v\"")}), answer(kRcodeRefused, 0)); return Bytes{}; }, {}},
    // TCP: a signed SOA query one octet per write: answered NOERROR, signed.
    {"TcpSplitByteByByteQuery", Via::custom, [](Fixture& f) { LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA); custom_tcp_split(f, signed_wire(q.get(), acme_key(f)), answer(kRcodeNoError, 0)); return Bytes{}; }, {}},
    // TCP: length prefix 500, 100 octets, then the client closes: no answer, closed.
    {"TcpLengthLargerThanDataThenClose", Via::custom, [](Fixture& f) { custom_tcp_short_then_close(f); return Bytes{}; }, {}},
    // TCP: a client that sends nothing is closed after tcp-idle-timeout (1 s).
    {"TcpIdleClientClosed", Via::custom, [](Fixture& f) { custom_tcp_idle(f); return Bytes{}; }, {}},
    // TCP: 2 connections over max-tcp-connections (3) closed at once; the 3 served still answer.
    {"TcpOverMaxConnections", Via::custom, [](Fixture& f) { custom_tcp_over_limit(f); return Bytes{}; }, {}},
    // TCP: 3000 connections opened and closed in sequence; then still served.
    {"TcpThousandsOfConnections", Via::custom, [](Fixture& f) { custom_tcp_thousands(f); return Bytes{}; }, {}},
};
// clang-format on

// The UDP answer, or nothing within `wait`.
std::optional<Bytes> udp_exchange(const Endpoint& server, const Bytes& m,
                                  std::chrono::milliseconds wait = 3000ms) {
    Socket s(::socket(AF_INET, SOCK_DGRAM, 0));
    const ssize_t sent =
        ::sendto(s.fd(), m.data(), m.size(), 0, server.sockaddr_ptr(), server.addr_len);
    if (sent != static_cast<ssize_t>(m.size())) {
        throw std::runtime_error("test: sendto failed");
    }
    if (!readable(s.fd(), wait)) {
        return std::nullopt;
    }
    Bytes buf(65535);
    const ssize_t got = ::recv(s.fd(), buf.data(), buf.size(), 0);
    buf.resize(static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
    return buf;
}

int tcp_connect(const Endpoint& server) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, server.sockaddr_ptr(), server.addr_len) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        throw std::runtime_error("test: cannot connect over TCP");
    }
    return fd;
}

void send_all(int fd, const Bytes& data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
}

Bytes framed(const Bytes& m) {
    Bytes out = {static_cast<std::uint8_t>(m.size() >> 8),
                 static_cast<std::uint8_t>(m.size() & 0xff)};
    out.insert(out.end(), m.begin(), m.end());
    return out;
}

Bytes read_exactly(int fd, std::size_t size, std::chrono::milliseconds wait = 3000ms) {
    Bytes out;
    for (int rounds = 0; out.size() < size && rounds < 1000; ++rounds) {
        if (!readable(fd, wait)) {
            break;
        }
        std::uint8_t buf[4096];
        const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, size - out.size()), 0);
        if (got <= 0) {
            break;
        }
        out.insert(out.end(), buf, buf + got);
    }
    return out;
}

// One framed answer; empty when the server closed or sent nothing in time.
Bytes tcp_read_message(int fd) {
    const auto len = read_exactly(fd, 2);
    if (len.size() != 2) {
        return {};
    }
    return read_exactly(fd, static_cast<std::size_t>(len[0] << 8 | len[1]));
}

bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
    if (!readable(fd, timeout)) {
        return false;
    }
    std::uint8_t b;
    return ::recv(fd, &b, 1, MSG_DONTWAIT) <= 0;
}

// The whole store as text: serial, then each name's values with expiry.
std::string dump(const Snapshot& s) {
    std::map<std::string, std::vector<std::string>> names;
    s.for_each([&](const DnsName& name, const std::vector<TxtValue>& values) {
        auto& out = names[name.text()];
        for (const TxtValue& v : values) {
            std::string line;
            for (const std::string& part : v.data) {
                line += "\"" + part + "\" ";
            }
            line += std::to_string(v.expires.time_since_epoch().count());
            out.push_back(line);
        }
        std::sort(out.begin(), out.end());
    });
    std::ostringstream o;
    o << "serial " << s.serial << " values " << s.value_count() << "\n";
    for (const auto& [name, values] : names) {
        for (const auto& v : values) {
            o << name << " " << v << "\n";
        }
    }
    return o.str();
}

void check_answer(const Bytes& a, const Expect& e, const char* what) {
    SCOPED_TRACE(what);
    ASSERT_GE(a.size(), 12u);
    EXPECT_NE(a[2] & 0x80, 0) << "QR not set";
    EXPECT_EQ(a[3] & 0x0f, e.rcode) << "rcode " << rcode_name(a[3] & 0x0f);
    LdnsPkt pkt = parse_wire(a);
    const ldns_rr* t = ldns_pkt_tsig(pkt.get());
    if (e.tsig_error < 0) {
        EXPECT_EQ(t, nullptr) << "answer is signed";
    } else {
        ASSERT_NE(t, nullptr) << "answer is not signed";
        EXPECT_EQ(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), e.tsig_error);
    }
}

StoreOptions small_limits() {
    StoreOptions o;  // memory only
    o.max_values_per_name = 3;
    o.max_values = 5;
    return o;
}

class Fixture {
  public:
    Fixture() {
        set_log_sink([this](LogLevel, const std::string& line) {
            std::lock_guard lock(log_mutex);
            log_lines.push_back(line);
        });
        config.zones = {DnsName::parse("example.com")};
        config.challenge_zones = {DnsName::parse("acme.example.net")};
        config.nameservers = {DnsName::parse("ns1.example.com")};
        config.contact = DnsName::parse("hostmaster.example.com");
        config.control.listen = {Endpoint::parse("127.0.0.1:0")};
        config.control.keyring.add(acme_key);
        config.control.keyring.add(lab_key);
        config.control.grants = {
            Grant{DnsName::parse("acme-key"), Grant::Kind::zonesub, DnsName::parse("example.com")},
            Grant{DnsName::parse("acme-key"), Grant::Kind::zonesub,
                  DnsName::parse("acme.example.net")},
            Grant{DnsName::parse("lab-key"), Grant::Kind::name,
                  DnsName::parse("_acme-challenge.www.example.com")}};
        config.control.max_tcp_connections = 3;
        config.control.tcp_idle_timeout = 1s;
        config.control.fudge = 300;
        const auto seeded = store.apply(
            {}, {Change{Change::Op::add, DnsName::parse("_acme-challenge.example.com"), {"seed"}},
                 Change{Change::Op::add, DnsName::parse("x.acme.example.net"), {"a"}},
                 Change{Change::Op::add, DnsName::parse("x.acme.example.net"), {"b"}}});
        if (seeded.rcode != kRcodeNoError) {
            throw std::runtime_error("test: cannot seed the store: " + seeded.detail);
        }
        claims = std::make_unique<ZoneClaims>(config.zones, config.challenge_zones);
        notifier = std::make_unique<Notifier>(config.control.notify);
        server = std::make_unique<ControlServer>(config, *claims, store, *notifier);
        ep = server->local_endpoints().at(0);
    }
    ~Fixture() {
        server.reset();
        set_log_sink(nullptr);
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    // Sends a good UPDATE (it changes the store) and keeps its octets in `primed`.
    void prime_with_applied_update() {
        primed = ldns_update(*this, acme_key, "acme.example.net", {},
                             {rr_from("p.acme.example.net. 60 IN TXT \"primed\"")});
        const auto a = udp_exchange(ep, primed);
        ASSERT_TRUE(a.has_value());
        ASSERT_EQ(rcode_of(*a), kRcodeNoError);
    }
    bool logged_secret() {
        std::lock_guard lock(log_mutex);
        for (const auto& l : log_lines) {
            if (l.find(acme_key.secret_base64()) != std::string::npos ||
                l.find(lab_key.secret_base64()) != std::string::npos) {
                return true;
            }
        }
        return false;
    }
    // A SOA query answered NOERROR over UDP: the server still serves.
    void expect_serving() {
        LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
        const auto a = udp_exchange(ep, to_wire(q.get()));
        ASSERT_TRUE(a.has_value()) << "no answer any more";
        EXPECT_EQ(rcode_of(*a), kRcodeNoError);
    }

    TsigKey acme_key = make_key("acme-key", TsigAlgorithm::hmac_sha256, 0x21);
    TsigKey lab_key = make_key("lab-key", TsigAlgorithm::hmac_sha512, 0x33, 64);
    PluginConfig config;
    ChallengeStore store{small_limits()};
    std::unique_ptr<ZoneClaims> claims;
    std::unique_ptr<Notifier> notifier;  // outlives the server
    std::unique_ptr<ControlServer> server;
    Endpoint ep;
    Bytes primed;
    std::mutex log_mutex;
    std::vector<std::string> log_lines;
};

const TsigKey& acme_key(Fixture& f) {
    return f.acme_key;
}
const TsigKey& lab_key(Fixture& f) {
    return f.lab_key;
}
const Bytes& primed(Fixture& f) {
    return f.primed;
}
void prime(Fixture& f) {
    f.prime_with_applied_update();
}
Bytes unsigned_update() {
    LdnsPkt p = make_update("example.com", {},
                            {rr_from("_acme-challenge.example.com. 60 IN TXT \"new\"")}, 0x4321);
    return to_wire(p.get());
}

Bytes good_update(Fixture& f) {
    return ldns_update(f, f.acme_key, "example.com", {},
                       {rr_from("_acme-challenge.example.com. 60 IN TXT \"good\"")});
}

Bytes cut(Fixture& f, std::size_t keep) {
    auto m = good_update(f);
    m.resize(std::min(keep, m.size()));
    return m;
}

Bytes cut_from_end(Fixture& f, std::size_t drop) {
    auto m = good_update(f);
    if (drop >= m.size()) {
        throw std::logic_error("test: cut beyond the message");
    }
    m.resize(m.size() - drop);
    return m;
}

void put16(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

Bytes label_name(const std::vector<std::string>& labels) {
    Bytes out;
    for (const auto& l : labels) {
        out.push_back(static_cast<std::uint8_t>(l.size()));
        out.insert(out.end(), l.begin(), l.end());
    }
    out.push_back(0);
    return out;
}

Bytes dotted(const std::string& name) {
    std::vector<std::string> labels;
    std::stringstream in(name);
    for (std::string l; std::getline(in, l, '.');) {
        labels.push_back(l);
    }
    return label_name(labels);
}

// A header (ID 0x1234, `opcode`, one question) and `qname` type `qtype` class IN.
Bytes raw_with_question(const Bytes& qname, std::uint16_t qtype, std::uint16_t opcode) {
    Bytes m = {0x12, 0x34, static_cast<std::uint8_t>(opcode << 3), 0, 0, 1, 0, 0, 0, 0, 0, 0};
    m.insert(m.end(), qname.begin(), qname.end());
    put16(m, qtype);
    put16(m, 1);
    return m;
}

Bytes txt_rr(const std::string& owner, const Bytes& rdata, std::uint16_t cls, std::uint32_t ttl) {
    Bytes out = dotted(owner);
    put16(out, 16);
    put16(out, cls);
    put16(out, static_cast<std::uint16_t>(ttl >> 16));
    put16(out, static_cast<std::uint16_t>(ttl & 0xffff));
    put16(out, static_cast<std::uint16_t>(rdata.size()));
    out.insert(out.end(), rdata.begin(), rdata.end());
    return out;
}

// An UPDATE of zone example.com with `update_rr` as its update section, signed by acme-key.
Bytes hand_signed_update(Fixture& f, const Bytes& update_rr, std::uint16_t upcount) {
    Bytes m = {0x43, 0x21, 5 << 3, 0, 0, 1, 0, 0};
    put16(m, upcount);
    put16(m, 0);
    const Bytes zone = dotted("example.com");
    m.insert(m.end(), zone.begin(), zone.end());
    put16(m, 6);
    put16(m, 1);
    m.insert(m.end(), update_rr.begin(), update_rr.end());
    return sign_raw(m, f.acme_key);
}

// RFC 8945 §4.3 by hand: HMAC over the message and the TSIG variables, then
// the TSIG record appended and ARCOUNT incremented.
Bytes sign_raw(Bytes msg, const TsigKey& key, const SignOpts& o) {
    const std::string alg =
        o.algorithm.empty() ? std::string(wire_name(key.algorithm)) : o.algorithm;
    const auto time_signed =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(std::time(nullptr)) + o.time_offset);
    Bytes vars = dotted(key.name.text());
    put16(vars, 255);  // class ANY
    put16(vars, 0);
    put16(vars, 0);
    const Bytes alg_wire = dotted(alg);
    Bytes timers;
    for (int shift = 40; shift >= 0; shift -= 8) {
        timers.push_back(static_cast<std::uint8_t>((time_signed >> shift) & 0xff));
    }
    put16(timers, 300);
    vars.insert(vars.end(), alg_wire.begin(), alg_wire.end());
    vars.insert(vars.end(), timers.begin(), timers.end());
    put16(vars, 0);  // error
    put16(vars, 0);  // other len
    Bytes input = msg;
    input.insert(input.end(), vars.begin(), vars.end());
    const EVP_MD* md = nullptr;
    switch (key.algorithm) {
        case TsigAlgorithm::hmac_sha256:
            md = EVP_sha256();
            break;
        case TsigAlgorithm::hmac_sha512:
            md = EVP_sha512();
            break;
        default:
            throw std::runtime_error("test: sign_raw supports SHA-256/512 keys");
    }
    Bytes mac(EVP_MAX_MD_SIZE);
    unsigned int mac_len = 0;
    HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()), input.data(), input.size(),
         mac.data(), &mac_len);
    mac.resize(o.mac_len != 0 ? o.mac_len : mac_len);
    if (o.corrupt_mac) {
        mac[3] ^= 0x10;
    }
    Bytes rdata = alg_wire;
    rdata.insert(rdata.end(), timers.begin(), timers.end());
    put16(rdata, static_cast<std::uint16_t>(mac.size()));
    rdata.insert(rdata.end(), mac.begin(), mac.end());
    rdata.push_back(msg[0]);  // original ID
    rdata.push_back(msg[1]);
    put16(rdata, 0);
    put16(rdata, 0);
    Bytes out = msg;
    const Bytes owner = dotted(key.name.text());
    out.insert(out.end(), owner.begin(), owner.end());
    put16(out, 250);
    put16(out, 255);
    put16(out, 0);
    put16(out, 0);
    put16(out, static_cast<std::uint16_t>(rdata.size()));
    out.insert(out.end(), rdata.begin(), rdata.end());
    const auto ar = static_cast<std::uint16_t>(((out[10] << 8) | out[11]) + 1);
    out[10] = static_cast<std::uint8_t>(ar >> 8);
    out[11] = static_cast<std::uint8_t>(ar & 0xff);
    return out;
}

Bytes ldns_update(Fixture&, const TsigKey& key, const std::string& zone,
                  std::vector<ldns_rr*> prereq, std::vector<ldns_rr*> updates) {
    LdnsPkt p = make_update(zone, prereq, updates);
    return signed_wire(p.get(), key);
}

void custom_tcp_split(Fixture& f, const Bytes& m, Expect e) {
    Socket c(tcp_connect(f.ep));
    const int one = 1;
    ::setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const Bytes all = framed(m);
    // The length prefix, the header and the start of the question one octet
    // at a time (each its own segment and read), then the rest at once: the
    // whole message must arrive within tcp-idle-timeout (1 s here) however
    // slow the machine, and TcpFraming's unit tests split everywhere else.
    constexpr std::size_t kOneByOne = 16;
    for (std::size_t i = 0; i < all.size() && i < kOneByOne; ++i) {
        send_all(c.fd(), Bytes{all[i]});
        std::this_thread::sleep_for(1ms);
    }
    if (all.size() > kOneByOne) {
        send_all(c.fd(), Bytes(all.begin() + kOneByOne, all.end()));
    }
    const Bytes a = tcp_read_message(c.fd());
    ASSERT_FALSE(a.empty()) << "no answer";
    check_answer(a, e, "byte-by-byte answer");
}

void custom_tcp_short_then_close(Fixture& f) {
    Socket c(tcp_connect(f.ep));
    Bytes m = {0x01, 0xf4};  // 500 octets announced
    const auto good = good_update(f);
    m.insert(m.end(), good.begin(), good.begin() + 100);
    send_all(c.fd(), m);
    ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
    // The server answers nothing and closes its side.
    EXPECT_TRUE(closed_by_server(c.fd(), 3000ms));
    f.expect_serving();
}

void custom_tcp_idle(Fixture& f) {
    Socket c(tcp_connect(f.ep));
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(closed_by_server(c.fd(), 4000ms));
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(waited, 900ms);  // tcp-idle-timeout is 1 s
    EXPECT_LE(waited, 3500ms);
}

// Sends an SOA query on a connection the server serves and expects its answer.
void expect_tcp_answer(int fd, const char* what) {
    LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
    send_all(fd, framed(to_wire(q.get())));
    const Bytes a = tcp_read_message(fd);
    ASSERT_FALSE(a.empty()) << what << " got no answer";
    check_answer(a, answer(kRcodeNoError), what);
}

void custom_tcp_over_limit(Fixture& f) {
    std::vector<std::unique_ptr<Socket>> served;
    for (int i = 0; i < 3; ++i) {
        served.push_back(std::make_unique<Socket>(tcp_connect(f.ep)));
        // Answered: the server has accepted it and counts it, however slow the machine.
        expect_tcp_answer(served.back()->fd(), "a connection within the limit");
    }
    // Over the limit: closed without an answer to the query sent on it (an
    // idle close after 1 s cannot pass for it: an answer would come first).
    for (int i = 0; i < 2; ++i) {
        Socket extra(tcp_connect(f.ep));
        LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
        const Bytes m = framed(to_wire(q.get()));
        (void)::send(extra.fd(), m.data(), m.size(), MSG_NOSIGNAL);  // may meet the close
        EXPECT_TRUE(closed_by_server(extra.fd(), 3000ms)) << "connection " << i + 4;
    }
    for (auto& s : served) {
        expect_tcp_answer(s->fd(), "served connection");
    }
}

void custom_tcp_thousands(Fixture& f) {
    constexpr int kConnections = 3000;
    int connected = 0;
    for (int i = 0; i < kConnections; ++i) {
        Socket c(tcp_connect(f.ep));
        ++connected;
    }
    EXPECT_EQ(connected, kConnections);
    // Once the server has seen the closes, a new connection is served.
    Bytes a;
    for (int attempt = 0; attempt < 20 && a.empty(); ++attempt) {
        Socket c(tcp_connect(f.ep));
        LdnsPkt q = make_query("_acme-challenge.example.com.", LDNS_RR_TYPE_SOA);
        const Bytes m = framed(to_wire(q.get()));
        if (::send(c.fd(), m.data(), m.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(m.size())) {
            a = tcp_read_message(c.fd());
        }
        if (a.empty()) {
            std::this_thread::sleep_for(200ms);
        }
    }
    ASSERT_FALSE(a.empty()) << "no TCP answer after the connection storm";
    check_answer(a, answer(kRcodeNoError), "after the storm");
    f.expect_serving();
}

class BadInputCatalogue : public ::testing::TestWithParam<Case> {};

TEST_P(BadInputCatalogue, ExactAnswerAndNothingChanged) {
    const Case& c = GetParam();
    Fixture f;
    if (c.prime) {
        c.prime(f);
        if (::testing::Test::HasFatalFailure()) {
            return;
        }
    }
    const std::string before = dump(*f.store.snapshot());
    if (c.via == Via::custom) {
        (void)c.build(f);
    } else {
        const Bytes request = c.build(f);
        if (c.via == Via::udp) {
            const auto a = udp_exchange(f.ep, request,
                                        c.expect.kind == Expect::Kind::no_answer ? 700ms : 3000ms);
            if (c.expect.kind == Expect::Kind::no_answer) {
                EXPECT_FALSE(a.has_value()) << "answered " << rcode_name(rcode_of(*a));
            } else {
                ASSERT_TRUE(a.has_value()) << "no answer";
                check_answer(*a, c.expect, c.name);
                EXPECT_EQ(a->at(0), request.at(0));  // the request's ID
                EXPECT_EQ(a->at(1), request.at(1));
            }
        } else {
            Socket s(tcp_connect(f.ep));
            send_all(s.fd(), framed(request));
            const Bytes a = tcp_read_message(s.fd());
            ASSERT_FALSE(a.empty()) << "no answer";
            check_answer(a, c.expect, c.name);
        }
        f.expect_serving();
    }
    EXPECT_EQ(dump(*f.store.snapshot()), before);
    EXPECT_FALSE(f.logged_secret());
}

INSTANTIATE_TEST_SUITE_P(ControlSocket, BadInputCatalogue, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                             return std::string(info.param.name);
                         });

TEST(BadInputCatalogueTable, HasAtLeast40NamedCases) {
    EXPECT_GE(kCases.size(), 40u);
    std::vector<std::string> names;
    for (const Case& c : kCases) {
        names.emplace_back(c.name);
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "duplicate name";
}

}  // namespace
}  // namespace acmezone::plugin
