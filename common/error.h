// The exception types acmezone throws for bad input.
#pragma once

#include <stdexcept>
#include <string>

namespace acmezone {

// A configuration or key file is wrong. what() is ready for an operator:
// "/etc/acmezone/keys.conf:12: key \"acme-key\": unknown algorithm \"hmac-foo\"
// (expected one of hmac-sha256, ...)".
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace acmezone
