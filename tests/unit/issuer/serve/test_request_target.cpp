// request_target: the two paths, ?wait=N, and every traversal or encoding
// trick decided as "not found" or "bad request" before any look-up.
#include <gtest/gtest.h>

#include "common/name_path.h"
#include "issuer/serve/request_target.h"

using namespace acmezone;
using namespace acmezone::issuer;
using Kind = RequestTarget::Kind;

TEST(RequestTarget, TheZoneList) {
    EXPECT_EQ(parse_request_target("/v1/zones").kind, Kind::zone_list);
}

TEST(RequestTarget, OneZone) {
    const RequestTarget t = parse_request_target("/v1/zones/Example.COM");
    ASSERT_EQ(t.kind, Kind::zone);
    EXPECT_EQ(t.zone.text(), "example.com");
    EXPECT_FALSE(t.wait);
}

TEST(RequestTarget, AClasslessReverseZoneIsOneEncodedSegment) {
    const RequestTarget t = parse_request_target("/v1/zones/0%2f25.2.0.192.in-addr.arpa");
    ASSERT_EQ(t.kind, Kind::zone);
    EXPECT_EQ(t.zone.text(), "0/25.2.0.192.in-addr.arpa");
}

TEST(RequestTarget, Wait) {
    RequestTarget t = parse_request_target("/v1/zones/example.com?wait=60");
    ASSERT_EQ(t.kind, Kind::zone);
    ASSERT_TRUE(t.wait);
    EXPECT_EQ(t.wait->count(), 60);
    for (const char* bad : {"/v1/zones/example.com?wait=", "/v1/zones/example.com?wait=-1",
                            "/v1/zones/example.com?wait=1x", "/v1/zones/example.com?wait=99999",
                            "/v1/zones/example.com?x=1", "/v1/zones/example.com?wait=1&x=2"}) {
        EXPECT_EQ(parse_request_target(bad).kind, Kind::bad_request) << bad;
    }
}

TEST(RequestTarget, TraversalAndEncodedVariantsAreNeverAZone) {
    for (const char* target : {
             "/v1/zones/..",
             "/v1/zones/.",
             "/v1/zones/../account.key",
             "/v1/zones/..%2f..%2faccount.key",
             "/v1/zones/..%2F..%2Faccount.key",
             "/v1/zones/%2e%2e",
             "/v1/zones/%2e%2e%2faccount.key",
             "/v1/zones/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
             "/v1/zones/%252e%252e%252faccount.key",  // double encoding
             "/v1/zones/%25",
             "/v1/zones/example.com/privkey.pem",
             "/v1/zones/example.com%2f..%2f..%2faccount.key",
             "/v1/zones//etc/passwd",
             "/v1/zones/example..com",
             "/v1/zones/example.com%00",
             "/v1/zones/.v-1",
             "/etc/passwd",
             "/v1/zonesx",
             "/v1/../v1/zones/example.com",
         }) {
        const RequestTarget t = parse_request_target(target);
        EXPECT_NE(t.kind, Kind::zone) << target << " gave zone " << t.zone.text();
        EXPECT_NE(t.kind, Kind::zone_list) << target;
    }
}

// '/' is valid inside a label (RFC 2317), so an encoded absolute path is a
// (nonexistent) zone name, which the store would map to one component.
TEST(RequestTarget, AnEncodedAbsolutePathStaysOneName) {
    const RequestTarget t = parse_request_target("/v1/zones/%2fetc%2fpasswd");
    ASSERT_EQ(t.kind, Kind::zone);
    EXPECT_EQ(t.zone.text(), "/etc/passwd");
    EXPECT_EQ(path_component(t.zone), "%2fetc%2fpasswd");
}

TEST(RequestTarget, MalformedTargetsAreBadRequests) {
    for (const char* target :
         {"", "*", "https://evil/v1/zones/example.com", "v1/zones", "/v1/zones/", "/v1/zones/%",
          "/v1/zones/%2", "/v1/zones/%zz", "/v1/zones/example.com#x"}) {
        EXPECT_EQ(parse_request_target(target).kind, Kind::bad_request) << target;
    }
}
