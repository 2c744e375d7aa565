// What the issuer remembers about each zone between runs:
// <state-dir>/zones/<zone>.json, one JSON object, written atomically; <zone> is
// the name as one file-name component ("0%2f25.2.0.192.in-addr.arpa": see
// common/name_path.h)
// (common/file_io) after every change, so it survives a crash at any point.
//
//   last_attempt, last_result, last_error   the last attempt: when, "ok",
//                           "failed" or "interrupted", and why it failed
//   last_success            when a certificate was last stored
//   failures                consecutive failures (0 after a success)
//   retry_at                backoff: no new attempt before this (see schedule.h)
//   deferred_by             why the zone waits for retry_at without having
//                           failed: a rate limit of the budget, or the CA's
//                           rateLimited answer (rate_budget.h)
//   ca                      the directory of the CA that issued the current
//                           certificate (the first or the fallback, ca_session.h)
//   ari                     the CA's renewal information (RFC 9773), one
//                           entry per current certificate (one per key
//                           type): its certID, the CA asked, the suggested
//                           window, the time picked in it, when to ask again
//                           (an object, as one certificate's entry was kept
//                           before there were two, is read as a list of one)
//   order                   an order in flight, recorded BEFORE its values are
//                           published: its URL, its key type, the owner name,
//                           the values and the control sockets written;
//                           cleared once the
//                           values are removed. Found on the next run, it
//                           means the last one died in between: that run
//                           removes exactly those values first, and moves
//                           the order's URL and key type to
//   resume_order, resume_key_type
//                           the order to resume or abandon on the zone's
//                           next attempt, and the key type it was for
//                           (issuance.h IssuanceOptions)
//   deploy_hook_error       the deploy hook's last failure (hooks.h)
//   notified_failed, notified_expiring   what the notify hook was told, when
//   standby                 the standby set's attempts (StandbyState): the CA
//                           that issued it, last attempt, success and error,
//                           failures, backoff, when a switch made the live set
//                           the standby set (switched_at: a new one is due),
//                           its renewal information (ari, as above, from the
//                           CA that issued it), and its order in flight (as
//                           `order`; a crash's is removed and forgotten, never
//                           resumed)
//   current                 what the zone's current certificates say, and the
//                           files it was read from (cert_summary.h): a pass
//                           and status parse a certificate only when it changed
//
// Reading is tolerant: a missing file is an empty state; a file that does not
// parse is reported (file and reason) and read as empty, never fatal for this
// zone or any other; fields of the wrong type are ignored one by one. Fields
// this version does not know are kept as they were (`extra`) and written back,
// so a newer state file survives an older issuer and other features can add
// fields: give each a member here and a line in from_json() and to_json().
//
// Each zone's file is written only by the thread working on that zone, and
// the pass lock (state_lock.h) keeps other processes out.
#pragma once

#include <json/value.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_name.h"
#include "issuer/pass/cert_summary.h"
#include "issuer/pass/schedule.h"

namespace acmezone::issuer {

struct AriState {
    std::string cert_id;    // the certificate the window is for
    std::string directory;  // the CA asked (its directory URL)
    std::optional<SysTime> window_start;
    std::optional<SysTime> window_end;
    std::optional<SysTime> renew_at;   // picked once within the window
    std::optional<SysTime> next_poll;  // Retry-After: ask again not before this
    std::string explanation_url;
};

struct InFlightOrder {
    std::string order_url;
    std::string owner;                  // DNS name the values are published at
    std::vector<std::string> values;    // the TXT values
    std::vector<std::string> controls;  // control sockets written, "IP:PORT"
    std::optional<SysTime> started;
    std::string key_type;  // cert_key.h to_string(); "" if not recorded
};

// The zone's standby set (pass/standby.h): its attempts, apart from the live
// set's, so that a failing standby CA never delays a renewal and vice versa.
struct StandbyState {
    std::string ca;  // the directory of the CA that issued the stored standby set
    std::optional<SysTime> last_attempt;
    std::optional<SysTime> last_success;
    std::string last_error;  // "" after a success
    unsigned failures = 0;
    std::optional<SysTime> retry_at;          // backoff, as the live set's (schedule.h)
    std::optional<InFlightOrder> order;       // as ZoneState::order, for a standby order
    std::optional<SysTime> notified_missing;  // "standby-missing" sent, none stored since
    // The stored standby set is the one that was live until this switch: a
    // new one is ordered on the next pass (until one is stored).
    std::optional<SysTime> switched_at;
    // The renewal information (ARI) of the standby set's certificates, from
    // the CA that issued it, as ZoneState::ari for the live set.
    std::vector<AriState> ari;
    bool empty() const {
        return ca.empty() && !last_attempt && !order && !notified_missing && !switched_at &&
               ari.empty();
    }
};

// How the zone's last attempt ended; in the file "ok", "failed",
// "interrupted", or no field (never attempted).
enum class LastResult { none, ok, failed, interrupted };
std::string_view to_string(LastResult r);  // "" for none
// "" and any text this version does not know: none.
LastResult last_result_from_string(std::string_view text);

struct ZoneState {
    std::optional<SysTime> last_attempt;
    LastResult last_result = LastResult::none;
    std::string last_error;
    std::optional<SysTime> last_success;
    unsigned failures = 0;
    std::optional<SysTime> retry_at;
    std::string deferred_by;
    std::string ca;
    std::vector<AriState> ari;  // one per current certificate, by cert_id
    std::optional<InFlightOrder> order;
    // Hooks (hooks.h): the deploy hook's last failure ("" when it succeeded),
    // when "failed" was notified (unset once "recovered" is), when
    // "expiring" last was.
    std::string deploy_hook_error;
    std::optional<SysTime> notified_failed;
    std::optional<SysTime> notified_expiring;
    std::string resume_order;               // an order a crash left (see above)
    std::string resume_key_type;            // its key type; "" if not recorded
    std::optional<CurrentSummary> current;  // nullopt: not known (read the store)
    StandbyState standby;

    // The entry for `cert_id`, nullptr when there is none.
    const AriState* ari_for(const std::string& cert_id) const;
    AriState* ari_for(const std::string& cert_id);

    Json::Value extra{Json::objectValue};  // unknown fields, kept as read

    // The zone's state changes during a pass, each the one place that
    // decides which fields it touches (zone_state.cpp says which).
    // The rate budget or the CA's Retry-After holds the zone back until
    // `until` without counting a failure.
    void record_deferral(const std::string& reason, SysTime until);
    // An attempt starts now.
    void record_attempt(SysTime now);
    // The order for `key_type` is placed or resumed: a crash's order of that
    // type is done with. True when the state changed (save it).
    bool record_ordered(const std::string& key_type);
    // Values of `order` about to be published (saved BEFORE publishing).
    void record_in_flight(InFlightOrder order);
    // Those values are removed again.
    void record_unpublished();
    // A certificate issued by the CA `ca` was stored.
    void record_success(const std::string& ca, SysTime now);
    // The attempt failed with `error`: one more consecutive failure, backoff
    // until now + retry_delay(failures, jitter, schedule) (schedule.h).
    void record_failure(const std::string& error, SysTime now, const ScheduleSettings& schedule,
                        double jitter);
    // The attempt was stopped by a signal: not the zone's fault, no backoff.
    void record_interruption(const std::string& error);
    // The CA answered rateLimited: wait at least until `until`.
    void record_ca_refusal(const std::string& reason, SysTime until);

    // `origin` names the file in warnings about ignored fields.
    static ZoneState from_json(const Json::Value& doc, const std::string& origin);
    Json::Value to_json() const;
};

class ZoneStateStore {
  public:
    explicit ZoneStateStore(std::filesystem::path state_dir);

    std::filesystem::path file(const DnsName& zone) const;
    // Never throws: missing file -> empty state; unreadable or corrupt ->
    // a warning naming the file and the cause, and an empty state.
    ZoneState load(const DnsName& zone) const;
    // Whether the zone's file may record an order in flight: false when it
    // is missing or its text has no "order" member at all (read, not parsed:
    // a pass's recovery asks this of every zone).
    bool may_record_order(const DnsName& zone) const;
    // Atomic, through the zone's spare file (write_file_swapped, mode 0600:
    // no file made or freed from a zone's second save on); throws
    // std::system_error naming the file.
    void save(const DnsName& zone, const ZoneState& state) const;

  private:
    std::filesystem::path dir_;
};

}  // namespace acmezone::issuer
