// See ca_failover.h.
#include "issuer/ca/ca_failover.h"

#include <json/value.h>
#include <json/writer.h>

#include <system_error>

#include "common/file_io.h"
#include "common/log.h"
#include "common/utc_time.h"
#include "issuer/json/json_text.h"

namespace acmezone::issuer {
namespace {

using Clock = std::chrono::system_clock;

std::optional<Clock::time_point> time_field(const Json::Value& doc, const char* key) {
    if (!doc[key].isInt64()) {
        return std::nullopt;
    }
    return from_unix_seconds(doc[key].asInt64());
}

CaFailoverState load(const std::filesystem::path& file, const std::string& primary, bool warn) {
    CaFailoverState s;
    s.directory = primary;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        return s;
    }
    try {
        std::string why;
        const std::optional<Json::Value> parsed = parse_json(read_file(file), &why);
        if (!parsed || !parsed->isObject()) {
            throw std::runtime_error("not a JSON object" + (parsed ? "" : ": " + why));
        }
        const Json::Value& doc = *parsed;
        if (doc["directory"].asString() != primary) {
            return s;  // about another first CA: start afresh
        }
        s.failing_since = time_field(doc, "failing_since");
        s.last_error = doc["last_error"].isString() ? doc["last_error"].asString() : "";
        s.used = doc["used"].isString() ? doc["used"].asString() : "";
        s.used_fallback = doc["used_fallback"].isBool() && doc["used_fallback"].asBool();
        s.used_at = time_field(doc, "used_at");
    } catch (const std::exception& e) {
        if (warn) {
            log_warning(file.string(), ": unreadable, taken as empty (", e.what(), ")");
        }
        s = CaFailoverState{};
        s.directory = primary;
    }
    return s;
}

}  // namespace

CaFailover::CaFailover(std::filesystem::path file, std::string primary_directory)
    : file_(std::move(file)), state_(load(file_, primary_directory, true)) {}

CaFailoverState CaFailover::read(const std::filesystem::path& file,
                                 const std::string& primary_directory) {
    return load(file, primary_directory, false);
}

void CaFailover::primary_ok(Clock::time_point now) {
    state_.failing_since.reset();
    state_.last_error.clear();
    state_.used = state_.directory;
    state_.used_fallback = false;
    state_.used_at = now;
    save();
}

Clock::time_point CaFailover::primary_failed(const std::string& error, Clock::time_point now) {
    if (!state_.failing_since) {
        state_.failing_since = now;
    }
    state_.last_error = error;
    save();
    return *state_.failing_since;
}

void CaFailover::fallback_used(const std::string& directory, Clock::time_point now) {
    state_.used = directory;
    state_.used_fallback = true;
    state_.used_at = now;
    save();
}

void CaFailover::save() const {
    Json::Value doc(Json::objectValue);
    doc["directory"] = state_.directory;
    if (state_.failing_since) {
        doc["failing_since"] = Json::Int64(to_unix_seconds(*state_.failing_since));
    }
    doc["last_error"] = state_.last_error;
    doc["used"] = state_.used;
    doc["used_fallback"] = state_.used_fallback;
    if (state_.used_at) {
        doc["used_at"] = Json::Int64(to_unix_seconds(*state_.used_at));
    }
    Json::StreamWriterBuilder w;
    try {
        write_file_atomic(file_, Json::writeString(w, doc) + "\n", 0644);
    } catch (const std::exception& e) {
        log_warning(file_.string(), ": could not record the CA in use: ", e.what());
    }
}

}  // namespace acmezone::issuer
