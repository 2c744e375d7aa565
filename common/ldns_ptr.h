// Owning handles for the ldns objects both programs create: std::unique_ptr
// with the matching ldns free function, so that no error path needs a naked
// *_free.
#pragma once

// ldns/common.h #defines bool, true and false unless stdbool.h came first.
#include <stdbool.h>
// clang-format off
#include <ldns/ldns.h>
// clang-format on

#include <memory>

namespace acmezone {

struct LdnsPktFree {
    void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct LdnsRdfFree {
    void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct LdnsRrFree {
    void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct LdnsRrListFree {
    void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
struct LdnsMallocFree {  // wire buffers and strings ldns allocates with malloc
    void operator()(void* p) const { LDNS_FREE(p); }
};

using LdnsPkt = std::unique_ptr<ldns_pkt, LdnsPktFree>;
using LdnsRdf = std::unique_ptr<ldns_rdf, LdnsRdfFree>;
using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrFree>;
using LdnsRrList = std::unique_ptr<ldns_rr_list, LdnsRrListFree>;

}  // namespace acmezone
