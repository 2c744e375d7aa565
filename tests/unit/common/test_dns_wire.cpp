// common/dns_wire: parse_message, every program's way from wire to ldns.
#include "common/dns_wire.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace acmezone {
namespace {

using Wire = std::vector<std::uint8_t>;

void append(Wire& w, std::initializer_list<int> octets) {
    for (int o : octets) {
        w.push_back(static_cast<std::uint8_t>(o));
    }
}

// A TXT query for example.com with `additional` records (raw, appended).
Wire query_with(const std::vector<Wire>& additional) {
    Wire w;
    append(w, {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
               static_cast<int>(additional.size())});
    append(w, {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 16, 0x00, 1});
    for (const Wire& rr : additional) {
        w.insert(w.end(), rr.begin(), rr.end());
    }
    return w;
}

// OPT (UDP size 1232) with one empty option, so that ldns keeps its data.
Wire opt() {
    Wire w;
    append(w, {0, 0x00, 41, 0x04, 0xd0, 0, 0, 0, 0, 0x00, 4, 0xfd, 0xe9, 0x00, 0x00});
    return w;
}

// TSIG key. hmac-sha256 with an empty MAC (parse_message judges placement
// only; the MAC is the verifier's).
Wire tsig() {
    Wire w;
    append(w, {3, 'k', 'e', 'y', 0, 0x00, 250, 0x00, 255, 0, 0, 0, 0, 0x00, 29});
    append(w, {11, 'h', 'm', 'a', 'c', '-', 's', 'h', 'a', '2', '5', '6', 0});
    append(w, {0, 0, 0x69, 0x55, 0xb9, 0x00, 0x01, 0x2c, 0x00, 0x00, 0x12, 0x34, 0, 0, 0, 0});
    return w;
}

Wire a_record() {  // example.com A 192.0.2.1, by a pointer to the question's name
    Wire w;
    append(w, {0xc0, 12, 0x00, 1, 0x00, 1, 0, 0, 0x0e, 0x10, 0x00, 4, 192, 0, 2, 1});
    return w;
}

TEST(ParseMessage, ReadsWhatLdnsReads) {
    std::string why;
    const LdnsPkt pkt = parse_message(query_with({a_record(), opt(), tsig()}), &why);
    ASSERT_TRUE(pkt) << why;
    EXPECT_EQ(ldns_pkt_id(pkt.get()), 0x1234);
    EXPECT_TRUE(ldns_pkt_edns(pkt.get()));
    EXPECT_NE(ldns_pkt_tsig(pkt.get()), nullptr);
    EXPECT_EQ(ldns_rr_list_rr_count(ldns_pkt_additional(pkt.get())), 1u);
}

// fuzz_tsig_answer and fuzz_update_message (CI at 9964cd0): ldns_wire2pkt
// keeps the last of several TSIG records and loses the memory of the others
// (three in a row leak; it stops reading after a TSIG once the count is
// spent). RFC 8945 5.1: FORMERR; RFC 6891 6.1.1 says the same of two OPTs.
TEST(ParseMessage, RefusesWhatLdnsWouldLeakOn) {
    std::string why;
    EXPECT_FALSE(parse_message(query_with({opt(), opt()}), &why));
    EXPECT_EQ(why, "more than one OPT record");
    EXPECT_FALSE(parse_message(query_with({tsig(), tsig()}), &why));
    EXPECT_EQ(why, "a TSIG record that is not the last record");
    EXPECT_FALSE(parse_message(query_with({tsig(), tsig(), tsig()}), &why));
    EXPECT_FALSE(parse_message(query_with({tsig(), a_record()}), &why));
    EXPECT_EQ(why, "a TSIG record that is not the last record");
    EXPECT_FALSE(parse_message(query_with({opt(), tsig(), opt()}), &why));
}

TEST(ParseMessage, SaysWhyLdnsRefuses) {
    Wire w = query_with({opt()});
    w.resize(w.size() - 3);
    std::string why;
    EXPECT_FALSE(parse_message(w, &why));
    EXPECT_FALSE(why.empty());
    EXPECT_FALSE(parse_message(Wire{0x12, 0x34}, &why));
    EXPECT_FALSE(parse_message({}, &why));
}

}  // namespace
}  // namespace acmezone
