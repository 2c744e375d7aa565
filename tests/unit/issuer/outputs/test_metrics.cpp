// metrics: the Prometheus text format, exactly; escaping; refusal of invalid
// names; the file written 0644.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/file_io.h"
#include "issuer/outputs/metrics.h"

using namespace acmezone;
using namespace acmezone::issuer;
namespace fs = std::filesystem;

TEST(Metrics, TextFormatGroupsByName) {
    std::vector<MetricSample> s{
        {"acmezone_certificate_not_after_seconds",
         "notAfter of the stored certificate",
         "gauge",
         {{"zone", "example.com"}, {"key_type", "ecdsa-p256"}},
         1767225600},
        {"acmezone_pass_timestamp_seconds", "end of the last pass", "gauge", {}, 1767000000.5},
        {"acmezone_certificate_not_after_seconds",
         "notAfter of the stored certificate",
         "gauge",
         {{"zone", "example.com"}, {"key_type", "rsa-2048"}},
         1767225601},
    };
    EXPECT_EQ(
        format_metrics(s),
        "# HELP acmezone_certificate_not_after_seconds notAfter of the stored certificate\n"
        "# TYPE acmezone_certificate_not_after_seconds gauge\n"
        "acmezone_certificate_not_after_seconds{zone=\"example.com\",key_type=\"ecdsa-p256\"} "
        "1767225600\n"
        "acmezone_certificate_not_after_seconds{zone=\"example.com\",key_type=\"rsa-2048\"} "
        "1767225601\n"
        "# HELP acmezone_pass_timestamp_seconds end of the last pass\n"
        "# TYPE acmezone_pass_timestamp_seconds gauge\n"
        "acmezone_pass_timestamp_seconds 1767000000.5\n");
}

TEST(Metrics, EscapesLabelValues) {
    std::vector<MetricSample> s{{"m", "h", "counter", {{"l", "a\"b\\c\nd"}}, 3}};
    EXPECT_EQ(format_metrics(s), "# HELP m h\n# TYPE m counter\nm{l=\"a\\\"b\\\\c\\nd\"} 3\n");
    // A zone label is the DNS name itself: '/' (RFC 2317) needs no escape in
    // the text format; only '\\', '"' and newline do (none is in a DnsName).
    std::vector<MetricSample> z{{"m", "h", "gauge", {{"zone", "0/25.2.0.192.in-addr.arpa"}}, 1}};
    EXPECT_EQ(format_metrics(z),
              "# HELP m h\n# TYPE m gauge\nm{zone=\"0/25.2.0.192.in-addr.arpa\"} 1\n");
}

TEST(Metrics, RefusesInvalidNamesAndDisagreement) {
    EXPECT_THROW(format_metrics({{"1bad", "h", "gauge", {}, 1}}), std::invalid_argument);
    EXPECT_THROW(format_metrics({{"m-x", "h", "gauge", {}, 1}}), std::invalid_argument);
    EXPECT_THROW(format_metrics({{"m", "h", "gauge", {{"a:b", "v"}}, 1}}), std::invalid_argument);
    EXPECT_THROW(format_metrics({{"m", "h", "histogram", {}, 1}}), std::invalid_argument);
    EXPECT_THROW(format_metrics({{"m", "h", "gauge", {}, 1}, {"m", "other", "gauge", {}, 2}}),
                 std::invalid_argument);
}

TEST(Metrics, FileIsWrittenWhole0644) {
    char tmpl[] = "/tmp/acmezone-metrics-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    const fs::path file = dir / "acmezone.prom";
    ::umask(022);
    write_metrics_file(file, {{"m", "h", "gauge", {}, 7}});
    EXPECT_EQ(read_file(file), "# HELP m h\n# TYPE m gauge\nm 7\n");
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    fs::remove_all(dir);
}
