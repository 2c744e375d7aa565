// base64 / base64url against RFC 4648 §10's vectors, and the invalid inputs.
#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace acmezone;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) {
    return {s.begin(), s.end()};
}

}  // namespace

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, encoded] : vectors) {
        EXPECT_EQ(base64_encode(bytes(plain)), encoded);
        auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(*decoded, bytes(plain));
    }
}

TEST(Base64, AllByteValuesRoundTrip) {
    std::vector<std::uint8_t> all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<std::uint8_t>(i));
    }
    for (std::size_t len = 0; len <= all.size(); len += 17) {
        std::vector<std::uint8_t> part(all.begin(), all.begin() + static_cast<long>(len));
        EXPECT_EQ(base64_decode(base64_encode(part)), part);
        EXPECT_EQ(base64url_decode(base64url_encode(part)), part);
    }
    EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{0xfb, 0xff}), "+/8=");
    EXPECT_EQ(base64url_encode(std::vector<std::uint8_t>{0xfb, 0xff}), "-_8");
}

TEST(Base64, WhiteSpaceIgnored) {
    auto d = base64_decode(" Zm9v\n YmFy\t\r\n");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, bytes("foobar"));
}

TEST(Base64, InvalidInput) {
    for (const char* bad :
         {"Zm9", "Zg=", "Zg===", "=Zg=", "Zg==Zg==", "Z===", "Zm9v!A==", "Zm-_", "Zm=v", "Zm9vY"}) {
        EXPECT_FALSE(base64_decode(bad).has_value()) << bad;
    }
}

TEST(Base64Url, Rfc4648VectorsUnpadded) {
    EXPECT_EQ(base64url_encode(std::string_view("f")), "Zg");
    EXPECT_EQ(base64url_encode(std::string_view("fo")), "Zm8");
    EXPECT_EQ(base64url_encode(std::string_view("foobar")), "Zm9vYmFy");
    EXPECT_EQ(base64url_decode("Zm8"), bytes("fo"));
    EXPECT_EQ(base64url_decode(""), bytes(""));
}

TEST(Base64Url, InvalidInput) {
    for (const char* bad : {"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm 9v", "Zm9v\n"}) {
        EXPECT_FALSE(base64url_decode(bad).has_value()) << bad;
    }
}
