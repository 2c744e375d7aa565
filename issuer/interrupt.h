// Stopping cleanly on SIGINT and SIGTERM.
//
// When the operator presses Ctrl-C, or systemd stops the timer's service,
// the issuer must still remove the challenge values it published. So the
// first SIGINT/SIGTERM only sets a flag: waits in the ACME client end at once
// by throwing Interrupted, zones not yet started are not started, and the
// RAII guards unpublish on the way out. A second signal kills at once
// (the handler is installed with SA_RESETHAND).
#pragma once

#include <chrono>
#include <stdexcept>

namespace acmezone::issuer {

class Interrupted : public std::runtime_error {
  public:
    Interrupted() : std::runtime_error("interrupted by a signal") {}
};

// Installs the handlers (main() calls it once).
void install_interrupt_handlers();
// True once a SIGINT or SIGTERM arrived (or request_interrupt() was called).
bool interrupted();
// Sets the flag, as a signal would (for tests).
void request_interrupt();
// Clears the flag (for tests).
void reset_interrupt();
// Sleeps `d`, waking every 50 ms to check the flag; throws Interrupted when set.
void sleep_or_interrupt(std::chrono::milliseconds d);

}  // namespace acmezone::issuer
