// `serve`'s own Prometheus textfile, beside the issuer's ([status]
// metrics-file, metrics.h): the issuer rewrites its file after each pass, so
// serve keeps its samples in a second file in the same directory, named
// after it with "-serve" ("acmezone.prom" -> "acmezone-serve.prom"), which
// node_exporter's textfile collector reads too. No metrics-file: no file.
//
//   acmezone_fleet_hosts{zone}                 hosts that fetched the zone (fleet_view.h)
//   acmezone_fleet_hosts_outdated{zone}        of those, the ones holding a version older
//                                              than the one served now
//   acmezone_serve_requests_total{status}      answers since serve started, per HTTP status
//
// Written by server.cpp with fleet.json: at most once every few seconds when
// something changed, and at SIGTERM.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "issuer/outputs/metrics.h"
#include "issuer/serve/fleet_view.h"

namespace acmezone::issuer {

// The serve file beside `issuer_metrics_file`.
std::filesystem::path serve_metrics_file(const std::filesystem::path& issuer_metrics_file);

struct ZoneFleetCount {
    unsigned hosts = 0;
    unsigned outdated = 0;
};

// The samples: the two fleet gauges for every zone of `zones` (0 for a zone
// no host fetched), then one counter per status in `requests`.
std::vector<MetricSample> serve_metric_samples(const std::vector<DnsName>& zones,
                                               const std::map<std::string, ZoneFleetCount>& fleet,
                                               const std::map<unsigned, unsigned long>& requests);

}  // namespace acmezone::issuer
