// See serve_metrics.h.
#include "issuer/serve/serve_metrics.h"

namespace acmezone::issuer {

std::filesystem::path serve_metrics_file(const std::filesystem::path& issuer_metrics_file) {
    return issuer_metrics_file.parent_path() / (issuer_metrics_file.stem().string() + "-serve" +
                                                issuer_metrics_file.extension().string());
}

std::vector<MetricSample> serve_metric_samples(const std::vector<DnsName>& zones,
                                               const std::map<std::string, ZoneFleetCount>& fleet,
                                               const std::map<unsigned, unsigned long>& requests) {
    std::vector<MetricSample> samples;
    for (const DnsName& zone : zones) {
        const auto it = fleet.find(zone.text());
        const ZoneFleetCount n = it == fleet.end() ? ZoneFleetCount{} : it->second;
        samples.push_back({"acmezone_fleet_hosts",
                           "hosts that fetched the zone from serve",
                           "gauge",
                           {{"zone", zone.text()}},
                           static_cast<double>(n.hosts)});
        samples.push_back({"acmezone_fleet_hosts_outdated",
                           "hosts whose last fetched version is older than the one served",
                           "gauge",
                           {{"zone", zone.text()}},
                           static_cast<double>(n.outdated)});
    }
    for (const auto& [status, count] : requests) {
        samples.push_back({"acmezone_serve_requests_total",
                           "requests answered by serve since it started, by HTTP status",
                           "counter",
                           {{"status", std::to_string(status)}},
                           static_cast<double>(count)});
    }
    return samples;
}

}  // namespace acmezone::issuer
