// See metrics.h.
#include "issuer/outputs/metrics.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "common/file_io.h"

namespace acmezone::issuer {
namespace {

bool valid_name(const std::string& name, bool allow_colon) {
    if (name.empty()) {
        return false;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                           (allow_colon && c == ':');
        const bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit))) {
            return false;
        }
    }
    return true;
}

std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string escape_help(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_value(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    // Integers (timestamps, counts) exactly, without an exponent.
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace

std::string format_metrics(const std::vector<MetricSample>& samples) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<const MetricSample*>> by_name;
    for (const MetricSample& s : samples) {
        if (!valid_name(s.name, true)) {
            throw std::invalid_argument("invalid metric name \"" + s.name + "\"");
        }
        if (s.type != "gauge" && s.type != "counter") {
            throw std::invalid_argument(s.name + ": unknown metric type \"" + s.type + "\"");
        }
        for (const auto& [label, value] : s.labels) {
            if (!valid_name(label, false) || label.rfind("__", 0) == 0) {
                throw std::invalid_argument(s.name + ": invalid label name \"" + label + "\"");
            }
        }
        auto& group = by_name[s.name];
        if (group.empty()) {
            order.push_back(s.name);
        } else if (group.front()->help != s.help || group.front()->type != s.type) {
            throw std::invalid_argument(s.name + ": samples disagree on help or type");
        }
        group.push_back(&s);
    }
    std::string out;
    for (const std::string& name : order) {
        const auto& group = by_name[name];
        out += "# HELP " + name + " " + escape_help(group.front()->help) + "\n";
        out += "# TYPE " + name + " " + group.front()->type + "\n";
        for (const MetricSample* s : group) {
            out += name;
            if (!s->labels.empty()) {
                out += "{";
                for (std::size_t i = 0; i < s->labels.size(); ++i) {
                    out += (i ? "," : "") + s->labels[i].first + "=\"" +
                           escape_label(s->labels[i].second) + "\"";
                }
                out += "}";
            }
            out += " " + format_value(s->value) + "\n";
        }
    }
    return out;
}

void write_metrics_file(const std::filesystem::path& path,
                        const std::vector<MetricSample>& samples) {
    write_file_atomic(path, format_metrics(samples), 0644);
}

}  // namespace acmezone::issuer
