// A zone's current certificates as a pass and `status` need them, kept in
// the zone's state file (zone_state.h, "current") so that neither parses a
// certificate that has not changed since. OpenSSL 3 spends about a
// millisecond of CPU decoding one certificate (most of it building a decoder
// for the public key): at 10,000 zones that was most of an idle pass and of
// `status`.
//
// A summary is what the certificates say (names, validity, serial, issuer,
// the ARI certID, the leaf's SCTs as parsed) and where each came from: the
// target of the zone's `current` link and, for each file read, its inode,
// size and modification time. A version directory is never modified once
// complete, and one removed and written again has new files; so when the
// link's target and every file's stamp are as recorded, the recorded facts
// are the files' facts. Anything else (another version, another stamp, a
// summary this version cannot read) and the files are read and parsed
// again.
#pragma once

#include <json/value.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/dns_name.h"
#include "common/file_io.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/cert_store.h"
#include "issuer/certs/ct.h"

namespace acmezone::issuer {

// One certificate file of the current version.
struct CertSummary {
    std::string file;  // under current/: "fullchain.pem", "rsa-2048/fullchain.pem"
    FileStamp stamp;   // common/file_io.h
    KeyType type = KeyType::ecdsa_p256;
    bool top_level = false;  // a version without key-type directories
    CertInfo info;
    std::string cert_id;  // ARI certID (ari.h); "" when it cannot be made
    // The leaf's SCTs, parsed only (ct.h read_scts without a log list);
    // nullopt with the reason in sct_error when they could not be read.
    std::optional<std::vector<SctInfo>> scts;
    std::string sct_error;
};

struct CurrentSummary {
    std::string version;             // `current`'s target (".v-3"); "" when there is none
    std::vector<CertSummary> certs;  // as CertStore::current_all lists them
    // The certificate at the top of the version (cert.pem), which status
    // shows as the zone's: for a version without key-type directories the
    // one of `certs`, else its own entry (the first key type's copy).
    std::optional<CertInfo> top;
    std::optional<FileStamp> top_stamp;  // set when `top` was read from cert.pem
};

Json::Value to_json(const CurrentSummary& s);
// nullopt for anything that is not a summary as to_json writes it.
std::optional<CurrentSummary> current_summary_from_json(const Json::Value& doc);

struct CurrentRead {
    CurrentSummary summary;
    bool from_cache = false;  // `cached` held, or no version: nothing was read or parsed
    // Read anew and worth keeping in place of `cached` (false when `current`
    // switched while it was read, or a file could not be stat'ed).
    bool keep = false;
};
// The zone's current certificates: `cached` when it still describes the
// files, else read from the store (each file read and parsed once). Throws
// what CertStore::current_all throws for a store that cannot be read.
CurrentRead read_current(const CertStore& store, const DnsName& zone,
                         const std::optional<CurrentSummary>& cached);

// The summary read_current() would read from the set `stored` describes
// (CertStore::take_stored), made from it instead: no file read, and each
// leaf the one the issuance's check just parsed (parse_leaf, cert_check.h)
// rather than parsed again. nullopt when `current` no longer names
// that version (one readlink) or a leaf does not parse: then read_current().
std::optional<CurrentSummary> summary_of_stored(const StoredSet& stored, const DnsName& zone);

}  // namespace acmezone::issuer
