// The issuer's zones from RFC 9432 catalogs ([zones] catalog): at every load
// of issuer.conf (so at every pass of the daemon, and for run, check and
// status) each catalog is transferred (common/axfr_client.h) and validated
// (common/catalog_zone.h), and its members, filtered by catalog-group, are
// added to config.zones after the listed zones (a zone both listed and a
// member counts as listed).
//
// State, in state-dir:
//   catalog-<catalog>.members  the last good member set (all groups); a
//                              transfer or validation that fails keeps it in
//                              force, with a warning naming why
//   catalog-<catalog>.left     zones that left the catalog since: not
//                              renewed, their certificates stay in certs-dir;
//                              a zone that comes back is taken off
// A first transfer that fails with no saved set gives no members (warned).
#pragma once

#include "issuer/cli/issuer_config.h"

namespace acmezone::issuer {

// Adds the members of config.catalogs to config.zones, config.catalog_of,
// config.coo_of and config.left. Never throws for a catalog's failure (logged); throws
// std::runtime_error when the state directory cannot be written.
void add_catalog_members(IssuerConfig& config);

}  // namespace acmezone::issuer
