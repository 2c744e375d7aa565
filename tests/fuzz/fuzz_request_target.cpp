// libFuzzer target: what `acmezone-issuer serve` makes of a request target
// (issuer/serve/request_target.h), decided before anything is looked up.
//
// What must hold, or the target aborts: a zone request names a zone other
// than the root whose store directory is exactly one path component, which
// maps back to that zone (common/name_path.h: so no "..", no '/', no NUL
// reaches the file system); a wait is at most 86400 s and only on a zone
// request; nothing throws. Any sanitizer report is a finding too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/name_path.h"
#include "issuer/serve/request_target.h"

namespace {

using namespace acmezone;
using namespace acmezone::issuer;

void require(bool ok) {
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool kTrace = std::getenv("ACMEZONE_FUZZ_TRACE") != nullptr;
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    const RequestTarget t = parse_request_target(target);
    if (t.wait) {
        require(t.kind == RequestTarget::Kind::zone);
        require(t.wait->count() >= 0 && t.wait->count() <= 86400);
    }
    if (t.kind == RequestTarget::Kind::zone) {
        require(!t.zone.is_root());
        const std::string component = path_component(t.zone);
        require(!component.empty() && component != "." && component != "..");
        require(component.find('/') == std::string::npos);
        require(component.find('\0') == std::string::npos);
        const auto back = name_of_path_component(component);
        require(back.has_value() && *back == t.zone);
    }
    if (kTrace) {
        std::fprintf(stderr, "kind %d zone \"%s\"\n", static_cast<int>(t.kind),
                     t.zone.text().c_str());
    }
    return 0;
}
