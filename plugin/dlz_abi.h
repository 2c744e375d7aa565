// The parts of BIND 9's dlopen DLZ ABI (version 3) that acmezone uses,
// declared here so that the module needs no BIND headers, as BIND's own
// example modules do with contrib/dlz/modules/include/dlz_minimal.h in
// BIND's source tree. The authority is BIND 9.18's installed headers, as
// Debian 12's bind9-dev (1:9.18) ships them: /usr/include/dns/dlz_dlopen.h
// (DLZ_DLOPEN_VERSION, the dlz_* prototypes), dns/sdlz.h (the putrr and
// putnamedrr callbacks, DNS_SDLZFLAG_THREADSAFE), isc/result.h and
// isc/log.h (the values below). tests/unit/plugin/test_dlz_abi.cpp holds
// this file to those headers; check it again when BIND's ABI version
// changes.
//
// Calling rules that matter (from bin/named/dlz_dlopen_driver.c and
// lib/dns/sdlz.c of BIND 9.18):
//  - names arrive lower-case, without the trailing dot; the apex is "@";
//  - putrr/putnamedrr take master-file text; relative names are relative to
//    the zone origin;
//  - clientinfo methods must never be called when clientinfo->data is NULL:
//    acmezone never calls them at all, so their types stay opaque here.
#pragma once

#include <cstdint>

extern "C" {

typedef unsigned int isc_result_t;
typedef std::uint32_t dns_ttl_t;

// Opaque handles owned by named.
typedef struct dns_sdlzlookup dns_sdlzlookup_t;
typedef struct dns_sdlzallnodes dns_sdlzallnodes_t;
typedef struct dns_view dns_view_t;
typedef struct dns_dlzdb dns_dlzdb_t;
typedef struct dns_clientinfomethods dns_clientinfomethods_t;
typedef struct dns_clientinfo dns_clientinfo_t;

// Callbacks named passes to dlz_create as (name, function) pairs.
typedef void log_t(int level, const char* fmt, ...);
typedef isc_result_t dns_sdlz_putrr_t(dns_sdlzlookup_t* lookup, const char* type, dns_ttl_t ttl,
                                      const char* data);
typedef isc_result_t dns_sdlz_putnamedrr_t(dns_sdlzallnodes_t* allnodes, const char* name,
                                           const char* type, dns_ttl_t ttl, const char* data);
typedef isc_result_t dns_dlz_writeablezone_t(dns_view_t* view, dns_dlzdb_t* dlzdb,
                                             const char* zone_name);
}

namespace acmezone::plugin::dlz {

inline constexpr int kDlzVersion = 3;                  // DLZ_DLOPEN_VERSION
inline constexpr unsigned int kFlagThreadSafe = 0x1u;  // DNS_SDLZFLAG_THREADSAFE

// isc_result_t values (isc/result.h).
inline constexpr isc_result_t kSuccess = 0;
inline constexpr isc_result_t kNoMemory = 1;
inline constexpr isc_result_t kNoPerm = 6;
inline constexpr isc_result_t kNoSpace = 19;
inline constexpr isc_result_t kNotFound = 23;
inline constexpr isc_result_t kFailure = 25;
inline constexpr isc_result_t kNotImplemented = 27;
inline constexpr isc_result_t kNoMore = 29;
inline constexpr isc_result_t kUnexpected = 34;
inline constexpr isc_result_t kDefault = 68;

// ISC log levels as the log callback takes them (isc/log.h).
inline constexpr int kLogInfo = -1;
inline constexpr int kLogNotice = -2;
inline constexpr int kLogWarning = -3;
inline constexpr int kLogError = -4;
inline constexpr int kLogDebug1 = 1;

}  // namespace acmezone::plugin::dlz
