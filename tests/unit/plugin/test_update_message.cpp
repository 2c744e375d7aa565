// Decoding RFC 2136 UPDATEs into the store's terms, and the answers' shape.
// Messages are built with ldns and, for malformed ones, by hand.
#include "plugin/update_message.h"

#include "tests/unit/control_packets.h"

namespace acmezone::plugin {
namespace {

using namespace acmezone::plugin::testing;
using PK = Prerequisite::Kind;

class UpdateMessageTest : public ::testing::Test {
  protected:
    ZoneClaims claims{{DnsName::parse("example.com")}, {DnsName::parse("acme.example.net")}};

    DecodeResult decode(const std::string& zone, const std::vector<ldns_rr*>& pre,
                        const std::vector<ldns_rr*>& up) {
        LdnsPkt pkt = make_update(zone, pre, up);
        // Through the wire and back, as the server sees it.
        LdnsPkt parsed = parse_wire(to_wire(pkt.get()));
        return decode_update(parsed.get(), claims);
    }
    DecodeResult update(const std::vector<ldns_rr*>& up) { return decode("example.com", {}, up); }
    DecodeResult prereq(const std::string& zone, ldns_rr* rr) { return decode(zone, {rr}, {}); }
};

const std::string kName = "_acme-challenge.example.com.";

TEST_F(UpdateMessageTest, AddTxtIgnoresTtlAndKeepsEveryString) {
    const auto d = update(
        {rr_from(kName + " 3600 IN TXT \"v1\""), rr_from(kName + " 60 IN TXT \"a\" \"b c\"")});
    ASSERT_EQ(d.rcode, kRcodeNoError) << d.detail;
    EXPECT_EQ(d.request.zone.text(), "example.com");
    ASSERT_EQ(d.request.changes.size(), 2u);
    EXPECT_EQ(d.request.changes[0].op, Change::Op::add);
    EXPECT_EQ(d.request.changes[0].name.text(), "_acme-challenge.example.com");
    EXPECT_EQ(d.request.changes[0].data, (TxtData{"v1"}));
    EXPECT_EQ(d.request.changes[1].data, (TxtData{"a", "b c"}));
    ASSERT_EQ(d.request.names.size(), 1u);  // each name once
}

TEST_F(UpdateMessageTest, AdditionalSectionIsIgnored) {
    LdnsPkt pkt = make_update("example.com", {}, {rr_from(kName + " 60 IN TXT \"v\"")});
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_ADDITIONAL,
                     rr_from("ns1.example.com. 60 IN A 192.0.2.1"));
    LdnsPkt parsed = parse_wire(to_wire(pkt.get()));
    const auto d = decode_update(parsed.get(), claims);
    EXPECT_EQ(d.rcode, kRcodeNoError) << d.detail;
    EXPECT_EQ(d.request.changes.size(), 1u);
    EXPECT_EQ(d.request.names.size(), 1u);  // the glue's owner is not a name to grant
}

TEST_F(UpdateMessageTest, EveryDeleteKind) {
    const auto d = update({rr_from(kName + " 0 NONE TXT \"v1\""),
                           bare_rr(kName, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY),
                           bare_rr(kName, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)});
    ASSERT_EQ(d.rcode, kRcodeNoError) << d.detail;
    ASSERT_EQ(d.request.changes.size(), 3u);
    EXPECT_EQ(d.request.changes[0].op, Change::Op::delete_value);
    EXPECT_EQ(d.request.changes[0].data, (TxtData{"v1"}));
    EXPECT_EQ(d.request.changes[1].op, Change::Op::delete_txt);
    EXPECT_EQ(d.request.changes[2].op, Change::Op::delete_name);
}

TEST_F(UpdateMessageTest, ZoneMayBeTheApexOrAnyNameAboveIt) {
    for (const char* zone : {"_acme-challenge.example.com", "example.com", "com", "."}) {
        const auto d = decode(zone, {}, {rr_from(kName + " 60 IN TXT \"v\"")});
        EXPECT_EQ(d.rcode, kRcodeNoError) << zone << ": " << d.detail;
    }
    EXPECT_EQ(decode("x.acme.example.net", {}, {}).rcode, kRcodeNotAuth);  // inside, not apex
    EXPECT_EQ(decode("example.org", {}, {}).rcode, kRcodeNotAuth);
    EXPECT_EQ(decode("www.example.org", {}, {}).rcode, kRcodeNotAuth);
    // Above _acme-challenge.www.example.com, which is claimed.
    EXPECT_EQ(decode("www.example.com", {}, {}).rcode, kRcodeNoError);
}

TEST_F(UpdateMessageTest, ZoneSectionMustBeOneSoaInRecord) {
    LdnsPkt none(ldns_pkt_new());
    ldns_pkt_set_opcode(none.get(), LDNS_PACKET_UPDATE);
    EXPECT_EQ(decode_update(none.get(), claims).rcode, kRcodeFormErr);

    LdnsPkt two = make_update("example.com", {}, {});
    ldns_rr* z2 = bare_rr("example.net.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN);
    ldns_rr_set_question(z2, true);
    ldns_pkt_push_rr(two.get(), LDNS_SECTION_QUESTION, z2);
    const auto d2 = decode_update(two.get(), claims);
    EXPECT_EQ(d2.rcode, kRcodeFormErr);
    EXPECT_NE(d2.detail.find("2 records"), std::string::npos) << d2.detail;

    LdnsPkt a = make_update("example.com", {}, {});
    ldns_rr_set_type(ldns_rr_list_rr(ldns_pkt_question(a.get()), 0), LDNS_RR_TYPE_A);
    EXPECT_EQ(decode_update(a.get(), claims).rcode, kRcodeFormErr);

    LdnsPkt ch = make_update("example.com", {}, {});
    ldns_rr_set_class(ldns_rr_list_rr(ldns_pkt_question(ch.get()), 0), LDNS_RR_CLASS_CH);
    EXPECT_EQ(decode_update(ch.get(), claims).rcode, kRcodeFormErr);
}

TEST_F(UpdateMessageTest, UpdatesThatAreNotTxtAreRefused) {
    const auto d =
        update({rr_from(kName + " 60 IN TXT \"ok\""), rr_from(kName + " 60 IN A 192.0.2.1")});
    EXPECT_EQ(d.rcode, kRcodeRefused);
    EXPECT_NE(d.detail.find("only TXT"), std::string::npos) << d.detail;
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY)}).rcode, kRcodeRefused);
    EXPECT_EQ(update({rr_from(kName + " 0 NONE CNAME x.example.")}).rcode, kRcodeRefused);
}

TEST_F(UpdateMessageTest, NamesOutsideTheZoneAreNotzone) {
    const auto d = decode("_acme-challenge.example.com", {},
                          {rr_from("_acme-challenge.www.example.com. 60 IN TXT \"v\"")});
    EXPECT_EQ(d.rcode, kRcodeNotZone);
    EXPECT_EQ(prereq("_acme-challenge.example.com",
                     bare_rr("x.example.org.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY))
                  .rcode,
              kRcodeNotZone);
}

TEST_F(UpdateMessageTest, NamesInNoClaimedZoneAreRefused) {
    const auto d = update({rr_from("www.example.com. 60 IN TXT \"v\"")});
    EXPECT_EQ(d.rcode, kRcodeRefused);
    EXPECT_NE(d.detail.find("not a name this server serves"), std::string::npos);
    // Below a one-name _acme-challenge zone: not claimed either.
    EXPECT_EQ(update({rr_from("x." + kName + " 60 IN TXT \"v\"")}).rcode, kRcodeRefused);
    // Anywhere in a challenge zone: fine.
    EXPECT_EQ(
        decode("acme.example.net", {}, {rr_from("a.b.acme.example.net. 60 IN TXT \"v\"")}).rcode,
        kRcodeNoError);
}

TEST_F(UpdateMessageTest, ForbiddenClassTtlAndTypeCombinationsAreFormerr) {
    EXPECT_EQ(update({rr_from(kName + " 60 CH TXT \"v\"")}).rcode, kRcodeFormErr);
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY, 60)}).rcode,
              kRcodeFormErr);
    EXPECT_EQ(update({rr_from(kName + " 0 ANY TXT \"v\"")}).rcode, kRcodeFormErr);  // RDATA
    EXPECT_EQ(update({rr_from(kName + " 60 NONE TXT \"v\"")}).rcode, kRcodeFormErr);
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE)}).rcode, kRcodeFormErr);
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN, 60)}).rcode,
              kRcodeFormErr);
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_ANY)}).rcode, kRcodeFormErr);
    EXPECT_EQ(update({bare_rr(kName, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_NONE)}).rcode,
              kRcodeFormErr);  // delete a value without a value
}

TEST_F(UpdateMessageTest, OversizeTxtIsRefused) {
    const std::string s255(255, 'x');
    std::string text = kName + " 60 IN TXT";
    for (int i = 0; i < 5; ++i) {
        text += " \"" + s255 + "\"";
    }
    const auto d = update({rr_from(text)});
    EXPECT_EQ(d.rcode, kRcodeRefused);
    EXPECT_NE(d.detail.find("exceeds the limit of 1024"), std::string::npos) << d.detail;
    EXPECT_EQ(update({rr_from(kName + " 60 IN TXT \"" + s255 + "\" \"" + s255 + "\"")}).rcode,
              kRcodeNoError);
}

TEST_F(UpdateMessageTest, TxtPrerequisitesMapToTheStore) {
    const std::string n = "x.acme.example.net.";
    struct Case {
        ldns_rr* rr;
        PK kind;
    };
    const auto check = [&](ldns_rr* rr, PK kind) {
        const auto d = prereq("acme.example.net", rr);
        ASSERT_EQ(d.rcode, kRcodeNoError) << d.detail;
        ASSERT_EQ(d.request.prerequisites.size(), 1u);
        EXPECT_EQ(d.request.prerequisites[0].kind, kind);
        EXPECT_EQ(d.request.prerequisites[0].name.text(), "x.acme.example.net");
        EXPECT_EQ(d.request.failed_prerequisite, kRcodeNoError);
    };
    check(bare_rr(n, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY), PK::name_in_use);
    check(bare_rr(n, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE), PK::name_not_in_use);
    check(bare_rr(n, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY), PK::txt_exists);
    check(bare_rr(n, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_NONE), PK::txt_not_exists);

    const auto d =
        decode("acme.example.net",
               {rr_from(n + " 0 IN TXT \"a\""), rr_from(n + " 0 IN TXT \"b\" \"c\"")}, {});
    ASSERT_EQ(d.rcode, kRcodeNoError) << d.detail;
    ASSERT_EQ(d.request.prerequisites.size(), 1u);
    EXPECT_EQ(d.request.prerequisites[0].kind, PK::txt_equals);
    EXPECT_EQ(d.request.prerequisites[0].values,
              (std::vector<TxtData>{TxtData{"a"}, TxtData{"b", "c"}}));
}

TEST_F(UpdateMessageTest, OtherTypePrerequisitesAreDecidedHere) {
    const std::string apex = kName;
    const std::string below = "x.acme.example.net.";
    const auto failed = [&](const std::string& zone, ldns_rr* rr) {
        const auto d = prereq(zone, rr);
        EXPECT_EQ(d.rcode, kRcodeNoError) << d.detail;
        EXPECT_TRUE(d.request.prerequisites.empty());
        return d.request.failed_prerequisite;
    };
    // At a claimed apex SOA and NS exist, so the name is in use.
    EXPECT_EQ(failed("example.com", bare_rr(apex, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY)),
              kRcodeNoError);
    EXPECT_EQ(failed("example.com", bare_rr(apex, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE)),
              kRcodeYxDomain);
    EXPECT_EQ(failed("example.com", bare_rr(apex, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_ANY)),
              kRcodeNoError);
    EXPECT_EQ(failed("example.com", bare_rr(apex, LDNS_RR_TYPE_NS, LDNS_RR_CLASS_NONE)),
              kRcodeYxRrset);
    EXPECT_EQ(failed("example.com", bare_rr(apex, LDNS_RR_TYPE_A, LDNS_RR_CLASS_ANY)),
              kRcodeNxRrset);
    // Elsewhere nothing but TXT exists.
    EXPECT_EQ(failed("acme.example.net", bare_rr(below, LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_ANY)),
              kRcodeNxRrset);
    EXPECT_EQ(failed("acme.example.net", bare_rr(below, LDNS_RR_TYPE_A, LDNS_RR_CLASS_NONE)),
              kRcodeNoError);
    EXPECT_EQ(failed("acme.example.net", rr_from(below + " 0 IN A 192.0.2.1")), kRcodeNxRrset);
}

TEST_F(UpdateMessageTest, MalformedPrerequisitesAreFormerr) {
    const std::string n = "x.acme.example.net.";
    EXPECT_EQ(prereq("acme.example.net", bare_rr(n, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY, 5)).rcode,
              kRcodeFormErr);  // TTL
    EXPECT_EQ(prereq("acme.example.net", rr_from(n + " 0 NONE TXT \"v\"")).rcode,
              kRcodeFormErr);  // RDATA
    EXPECT_EQ(prereq("acme.example.net", bare_rr(n, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_IN)).rcode,
              kRcodeFormErr);
    EXPECT_EQ(prereq("acme.example.net", rr_from(n + " 0 CH TXT \"v\"")).rcode, kRcodeFormErr);
}

// What ldns_wire2pkt refuses never reaches decode_update: the server answers
// FORMERR for it. These are the malformed messages it must refuse.
TEST_F(UpdateMessageTest, LdnsRefusesMalformedWire) {
    LdnsPkt pkt = make_update("example.com", {}, {rr_from(kName + " 60 IN TXT \"value\"")});
    const auto good = to_wire(pkt.get());
    ldns_pkt* out = nullptr;
    ASSERT_EQ(ldns_wire2pkt(&out, good.data(), good.size()), LDNS_STATUS_OK);
    ldns_pkt_free(out);

    for (std::size_t cut : {5ul, 13ul, good.size() - 1}) {  // header, zone, TXT data
        out = nullptr;
        EXPECT_NE(ldns_wire2pkt(&out, good.data(), cut), LDNS_STATUS_OK) << cut;
        ldns_pkt_free(out);
    }
    // Counts claiming more records than there are.
    auto counts = good;
    counts[9] = 3;  // NSCOUNT 3, one present
    out = nullptr;
    EXPECT_NE(ldns_wire2pkt(&out, counts.data(), counts.size()), LDNS_STATUS_OK);
    ldns_pkt_free(out);
    // A TXT character-string longer than its RDATA: the last octet is "e" of
    // "value"; make the string's length octet claim 200.
    auto txt = good;
    txt[txt.size() - 6] = 200;
    out = nullptr;
    EXPECT_NE(ldns_wire2pkt(&out, txt.data(), txt.size()), LDNS_STATUS_OK);
    ldns_pkt_free(out);
    // A compression loop in the zone name.
    std::vector<std::uint8_t> loop = {0, 1, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 6, 0, 1};
    out = nullptr;
    EXPECT_NE(ldns_wire2pkt(&out, loop.data(), loop.size()), LDNS_STATUS_OK);
    ldns_pkt_free(out);
}

TEST_F(UpdateMessageTest, AnswersCopyIdOpcodeAndZone) {
    LdnsPkt req = make_update("example.com", {}, {rr_from(kName + " 60 IN TXT \"v\"")}, 999);
    LdnsPkt ans = make_answer(req.get(), kRcodeNotZone);
    const auto wire = to_wire(ans.get());
    LdnsPkt back = parse_wire(wire);
    EXPECT_EQ(ldns_pkt_id(back.get()), 999);
    EXPECT_TRUE(ldns_pkt_qr(back.get()));
    EXPECT_EQ(ldns_pkt_get_opcode(back.get()), LDNS_PACKET_UPDATE);
    EXPECT_EQ(ldns_pkt_get_rcode(back.get()), kRcodeNotZone);
    EXPECT_EQ(ldns_pkt_qdcount(back.get()), 1);
    EXPECT_EQ(ldns_pkt_nscount(back.get()), 0);  // updates are not echoed

    const auto header = header_only_answer(to_wire(req.get()), kRcodeFormErr);
    ASSERT_EQ(header.size(), 12u);
    EXPECT_EQ(header[0] << 8 | header[1], 999);
    EXPECT_EQ(header[2], 0x80 | (5 << 3));
    EXPECT_EQ(rcode_of(header), kRcodeFormErr);
    // Never an answer to an answer, nor to less than a header.
    EXPECT_TRUE(header_only_answer(wire, kRcodeFormErr).empty());
    EXPECT_TRUE(header_only_answer(std::vector<std::uint8_t>{1, 2}, kRcodeFormErr).empty());
    EXPECT_EQ(rcode_name(kRcodeNotAuth), "NOTAUTH");
}

}  // namespace
}  // namespace acmezone::plugin
