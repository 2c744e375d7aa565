// Seed generator for the binary corpora:
//   corpus/fuzz_update_message: RFC 2136 UPDATE messages and SOA queries as
//     nsupdate, certbot and lego send them, TSIG-signed at the fixed time the
//     fuzz target uses as "now" (kNow), so that the seeds pass the MAC and
//     time checks and mutations start from valid messages;
//   corpus/fuzz_store_journal: journal records as the store writes them, in
//     both of the target's input forms.
//
//     fuzz_make_corpus CORPUS_DIR      writes CORPUS_DIR/<target>/<name>.bin
//
// Messages are built with ldns (as a client would) and signed with the
// plugin's own tsig_mac(), which the unit tests check against ldns and the
// integration tests against nsupdate. The keys are the fuzz target's.
// Deterministic: the same files on every run (fixed IDs and time).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/tsig_keyring.h"
#include "plugin/store_journal.h"
#include "plugin/tsig_verifier.h"
#include "plugin/update_message.h"

namespace {

using namespace acmezone;
using namespace acmezone::plugin;

constexpr std::uint64_t kNow = 1767225600;  // fuzz_update_message.cpp's kNow
constexpr std::uint16_t kFudge = 300;
constexpr const char* kKeys = R"(
key "acme-key" { algorithm hmac-sha256; secret "kdrYRT+tT+aVpeSTAldk/XMzgwQHtTpMMAycoEnjmEI="; };
key "lab-key" { algorithm hmac-sha512; secret "bGFiLWtleS1zZWNyZXQtZm9yLWZ1enppbmctb25seQ=="; };
key "md5-key" { algorithm hmac-md5; secret "bWQ1LWtleS1zZWNyZXQtZm9yLWZ1enppbmc="; };
)";

LdnsRr rr_from(const std::string& text) {
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK) {
        throw std::runtime_error("ldns cannot read: " + text);
    }
    return LdnsRr(rr);
}

// A record without RDATA (RFC 2136 deletes and prerequisites).
LdnsRr empty_rr(const std::string& owner, ldns_rr_type type, ldns_rr_class cls) {
    LdnsRr rr(ldns_rr_new());
    ldns_rdf* name = ldns_dname_new_frm_str(owner.c_str());
    if (!rr || name == nullptr) {
        throw std::runtime_error("ldns: out of memory");
    }
    ldns_rr_set_owner(rr.get(), name);
    ldns_rr_set_type(rr.get(), type);
    ldns_rr_set_class(rr.get(), cls);
    ldns_rr_set_ttl(rr.get(), 0);
    ldns_rr_set_question(rr.get(), false);
    return rr;
}

void push(ldns_pkt* pkt, ldns_pkt_section section, LdnsRr rr) {
    if (!ldns_pkt_push_rr(pkt, section, rr.get())) {
        throw std::runtime_error("ldns_pkt_push_rr failed");
    }
    (void)rr.release();
}

struct Message {
    LdnsPkt pkt;
    explicit Message(std::uint16_t id, ldns_pkt_opcode opcode, const std::string& zone,
                     ldns_rr_type ztype = LDNS_RR_TYPE_SOA)
        : pkt(ldns_pkt_new()) {
        ldns_pkt_set_id(pkt.get(), id);
        ldns_pkt_set_opcode(pkt.get(), opcode);
        LdnsRr q = empty_rr(zone, ztype, LDNS_RR_CLASS_IN);
        ldns_rr_set_question(q.get(), true);
        push(pkt.get(), LDNS_SECTION_QUESTION, std::move(q));
    }
    Message& prereq(LdnsRr rr) {
        push(pkt.get(), LDNS_SECTION_ANSWER, std::move(rr));
        return *this;
    }
    Message& update(LdnsRr rr) {
        push(pkt.get(), LDNS_SECTION_AUTHORITY, std::move(rr));
        return *this;
    }
};

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v & 0xff));
}

// Appends a TSIG record signed with `key` at `time` (mac_len < digest: truncated MAC).
std::vector<std::uint8_t> sign(std::vector<std::uint8_t> wire, const TsigKey& key,
                               std::uint64_t time, std::size_t mac_len = 0) {
    TsigRecord v;
    v.key_name = key.name;
    v.algorithm = DnsName::parse(wire_name(key.algorithm));
    v.time_signed = time;
    v.fudge = kFudge;
    v.original_id = static_cast<std::uint16_t>((wire[0] << 8) | wire[1]);
    std::vector<std::uint8_t> mac = tsig_mac(key, {}, false, wire, v);
    if (mac_len != 0 && mac_len < mac.size()) {
        mac.resize(mac_len);
    }
    std::vector<std::uint8_t> rdata = name_to_wire(v.algorithm);
    for (int shift = 40; shift >= 0; shift -= 8) {
        rdata.push_back(static_cast<std::uint8_t>((time >> shift) & 0xff));
    }
    put16(rdata, kFudge);
    put16(rdata, static_cast<std::uint16_t>(mac.size()));
    rdata.insert(rdata.end(), mac.begin(), mac.end());
    put16(rdata, v.original_id);
    put16(rdata, 0);  // error
    put16(rdata, 0);  // other len
    const std::vector<std::uint8_t> owner = name_to_wire(key.name);
    wire.insert(wire.end(), owner.begin(), owner.end());
    put16(wire, 250);  // TSIG
    put16(wire, 255);  // ANY
    put16(wire, 0);    // TTL
    put16(wire, 0);
    put16(wire, static_cast<std::uint16_t>(rdata.size()));
    wire.insert(wire.end(), rdata.begin(), rdata.end());
    const std::uint16_t arcount = static_cast<std::uint16_t>(((wire[10] << 8) | wire[11]) + 1);
    wire[10] = static_cast<std::uint8_t>(arcount >> 8);
    wire[11] = static_cast<std::uint8_t>(arcount & 0xff);
    return wire;
}

void write(const std::filesystem::path& dir, const std::string& name,
           const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(dir / (name + ".bin"), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + (dir / name).string());
    }
}

constexpr const char* kValue = "\"gfj9Xq-5Ot2Xb1mVsSkTrDIrdGCkF0JmuZVb1z3tKqA\"";
constexpr const char* kValue2 = "\"LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo\"";

void make_updates(const std::filesystem::path& dir) {
    const TsigKeyring ring = TsigKeyring::parse(kKeys, "make_corpus");
    const TsigKey& acme = *ring.find(DnsName::parse("acme-key"));
    const TsigKey& lab = *ring.find(DnsName::parse("lab-key"));
    const TsigKey& md5 = *ring.find(DnsName::parse("md5-key"));
    const std::string apex = "_acme-challenge.example.com.";
    const std::string txt = " 60 IN TXT ";

    // nsupdate / certbot: add one value.
    Message add(0x1001, LDNS_PACKET_UPDATE, apex);
    add.update(rr_from(apex + txt + kValue));
    const auto add_wire = to_wire(add.pkt.get());
    write(dir, "add_signed_sha256", sign(add_wire, acme, kNow));
    write(dir, "add_signed_md5", sign(add_wire, md5, kNow));
    write(dir, "add_badtime", sign(add_wire, acme, kNow - 4000));
    write(dir, "add_truncated_mac", sign(add_wire, acme, kNow, 16));
    write(dir, "add_unsigned", add_wire);

    // Both values of {Z, *.Z} in one UPDATE.
    Message both(0x1002, LDNS_PACKET_UPDATE, apex);
    both.update(rr_from(apex + txt + kValue)).update(rr_from(apex + txt + kValue2));
    write(dir, "add_two_values", sign(to_wire(both.pkt.get()), acme, kNow));

    // certbot cleanup: delete one value (class NONE).
    Message del(0x1003, LDNS_PACKET_UPDATE, apex);
    LdnsRr none = rr_from(apex + " 0 IN TXT " + kValue);
    ldns_rr_set_class(none.get(), LDNS_RR_CLASS_NONE);
    del.update(std::move(none));
    write(dir, "delete_value", sign(to_wire(del.pkt.get()), acme, kNow));

    // lego: RemoveRRset + Insert; acme.sh: delete every TXT; delete the name.
    Message lego(0x1004, LDNS_PACKET_UPDATE, "example.com.");
    lego.update(empty_rr(apex, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY))
        .update(rr_from(apex + txt + kValue));
    write(dir, "lego_remove_insert", sign(to_wire(lego.pkt.get()), acme, kNow));
    Message delname(0x1005, LDNS_PACKET_UPDATE, apex);
    delname.update(empty_rr(apex, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY));
    write(dir, "delete_name", sign(to_wire(delname.pkt.get()), acme, kNow));

    // Every kind of prerequisite.
    Message pre(0x1006, LDNS_PACKET_UPDATE, apex);
    pre.prereq(empty_rr(apex, LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_ANY))    // name in use
        .prereq(empty_rr(apex, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_NONE))  // TXT not exists
        .update(rr_from(apex + txt + kValue));
    write(dir, "prereq_in_use_txt_absent", sign(to_wire(pre.pkt.get()), acme, kNow));
    Message pre2(0x1007, LDNS_PACKET_UPDATE, apex);
    LdnsRr eq = rr_from(apex + " 0 IN TXT " + kValue);
    pre2.prereq(std::move(eq))
        .prereq(empty_rr(apex, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_ANY))
        .update(rr_from(apex + txt + kValue2));
    write(dir, "prereq_txt_equals", sign(to_wire(pre2.pkt.get()), acme, kNow));
    Message pre3(0x1008, LDNS_PACKET_UPDATE, apex);
    pre3.prereq(empty_rr("_acme-challenge.example.com.", LDNS_RR_TYPE_ANY, LDNS_RR_CLASS_NONE));
    write(dir, "prereq_not_in_use", sign(to_wire(pre3.pkt.get()), acme, kNow));

    // A challenge-zone name, a name granted to one key, a refused type.
    Message cz(0x1009, LDNS_PACKET_UPDATE, "acme.example.net.");
    cz.update(rr_from("other-org.acme.example.net." + txt + kValue));
    write(dir, "challenge_zone_add", sign(to_wire(cz.pkt.get()), acme, kNow));
    const std::string www = "_acme-challenge.www.example.com.";
    Message named(0x100a, LDNS_PACKET_UPDATE, www);
    named.update(rr_from(www + txt + kValue));
    write(dir, "lab_key_name_grant", sign(to_wire(named.pkt.get()), lab, kNow));
    Message a(0x100b, LDNS_PACKET_UPDATE, apex);
    a.update(rr_from(apex + " 60 IN A 192.0.2.1"));
    write(dir, "refused_type_a", sign(to_wire(a.pkt.get()), acme, kNow));

    // SOA queries (nsupdate and certbot find the zone with them).
    Message soa(0x100c, LDNS_PACKET_QUERY, apex);
    write(dir, "soa_query_signed", sign(to_wire(soa.pkt.get()), acme, kNow));
    Message soa2(0x100d, LDNS_PACKET_QUERY, "www.example.com.");
    write(dir, "soa_query_unsigned", to_wire(soa2.pkt.get()));
}

namespace sj = acmezone::plugin::store_journal;

std::vector<std::uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

// fuzz_store_journal's forms: 0x01 + the journal as it is; 0x00 + each
// frame's payload prefixed by its 2-octet length.
void write_journal(const std::filesystem::path& dir, const std::string& name,
                   const std::vector<sj::Record>& records) {
    std::string raw(1, '\x01');
    std::string payloads(1, '\x00');
    for (const sj::Record& r : records) {
        const std::string frame = sj::encode_frame(r);
        raw += frame;
        const std::string payload = frame.substr(8);
        payloads.push_back(static_cast<char>(payload.size() >> 8));
        payloads.push_back(static_cast<char>(payload.size() & 0xff));
        payloads += payload;
    }
    write(dir, name + "_raw", bytes_of(raw));
    write(dir, name + "_payloads", bytes_of(payloads));
}

void make_journals(const std::filesystem::path& dir) {
    const auto expires = Clock::time_point(std::chrono::seconds(kNow + 600));
    sj::Record one;
    one.serial = 2026010101;
    one.names.push_back({DnsName::parse("_acme-challenge.example.com"),
                         {TxtValue{{"gfj9Xq-5Ot2Xb1mVsSkTrDIrdGCkF0JmuZVb1z3tKqA"}, expires},
                          TxtValue{{"LPsIwTo7o8BoG0-vjCyGQGBWSVIPxI-i_X336eUOQZo"}, expires}}});
    sj::Record two;
    two.serial = 2026010102;
    two.names.push_back({DnsName::parse("other-org.acme.example.net"),
                         {TxtValue{{"part one", "part two", ""}, expires}}});
    two.names.push_back({DnsName::parse("_acme-challenge.example.com"), {}});  // gone
    write_journal(dir, "one_record", {one});
    write_journal(dir, "two_records", {one, two});
    write_journal(dir, "empty_record", {sj::Record{}});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    try {
        const std::filesystem::path root(argv[1]);
        std::filesystem::create_directories(root / "fuzz_update_message");
        std::filesystem::create_directories(root / "fuzz_store_journal");
        make_updates(root / "fuzz_update_message");
        make_journals(root / "fuzz_store_journal");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_corpus: %s\n", e.what());
        return 1;
    }
    return 0;
}
