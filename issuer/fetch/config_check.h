// `acmezone-fetch --config FILE check`: is this host ready to fetch, without
// asking any server? The configuration has been loaded (FetchConfig::load:
// syntax, ranges, key-group); this reads the files it names:
//   - server-ca and trust: PEM certificates that parse;
//   - client-cert: a certificate that parses and is inside its validity
//     period (its DNS names, or CN, are what [serve] allow matches);
//   - client-key: a private key that parses and is client-cert's key;
//   - at least one zone unless --mirror.
// One line per problem (the option, the file, the cause) on the log, then a
// summary on `out`. Exit kFetchOk when all holds, kFetchFailed otherwise.
// Contacting the servers is left to a run: check says nothing of them.
#pragma once

#include <ostream>

#include "issuer/fetch/fetch_config.h"

namespace acmezone::issuer {

int check_fetch_config(const FetchConfig& config, bool mirror, std::ostream& out);

}  // namespace acmezone::issuer
