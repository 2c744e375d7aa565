// The Prometheus metrics file, for node_exporter's textfile collector.
//
// After each pass the issuer writes [status] metrics-file (atomically, mode
// 0644: node_exporter never reads half a file) in the Prometheus text
// exposition format (version 0.0.4):
//
//     # HELP acmezone_certificate_not_after_seconds ...
//     # TYPE acmezone_certificate_not_after_seconds gauge
//     acmezone_certificate_not_after_seconds{zone="example.com",key_type="ecdsa-p256"} 1.7e9
//
// Metrics written by the runner:
//   acmezone_certificate_not_after_seconds{zone,key_type}  the stored certificate's notAfter
//   acmezone_last_success_timestamp_seconds{zone}          when the zone last got a certificate
//   acmezone_consecutive_failures{zone}                    failed attempts since the last success
//   acmezone_standby_present{zone}                         with standby-directory, for a
//                                                          zone with a live set: 1 when it
//                                                          holds a valid standby set of
//                                                          every key type, else 0
//   acmezone_standby_not_after_seconds{zone,key_type}      the standby certificate's notAfter
//   acmezone_pass_timestamp_seconds                        when this pass ended
//   acmezone_rate_budget_remaining{ca,limit,scope}         what the CA's rate limit leaves
//   acmezone_rate_budget_limit{ca,limit,scope}             that limit (rate_budget.h;
//       limit: orders-per-3h (scope "account"), certs-per-domain-per-week (the
//       registered domain), certs-per-nameset-per-week (the names, comma-separated),
//       failed-authz-per-name-per-hour (the name); limits that are off are left out)
// Other parts (the runner's rate-budget samples) add their own samples to the list
// the writer takes. Every sample of one name must share its help text and
// type; samples are grouped by name in the order each name first appears.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace acmezone::issuer {

struct MetricSample {
    std::string name;  // [a-zA-Z_:][a-zA-Z0-9_:]*
    std::string help;
    std::string type = "gauge";                               // gauge or counter
    std::vector<std::pair<std::string, std::string>> labels;  // name, raw value
    double value = 0;
};

// The text exposition of `samples`. Label values are escaped (\\, \", \n).
// Throws std::invalid_argument for an invalid metric or label name, or for
// samples of one name with different help or type.
std::string format_metrics(const std::vector<MetricSample>& samples);

// format_metrics() written to `path` atomically, mode 0644.
void write_metrics_file(const std::filesystem::path& path,
                        const std::vector<MetricSample>& samples);

}  // namespace acmezone::issuer
