// Stopping cleanly on SIGINT and SIGTERM; the daemon's SIGHUP.
//
// When the operator presses Ctrl-C, or systemd stops the service, the issuer
// must still remove the challenge values it published. So a signal only sets
// flags:
//   - the first SIGINT/SIGTERM asks to stop: stop_requested() is true at once,
//     so no zone and no pass starts any more. The zones in flight get the stop
//     grace (set_stop_grace(): 0 for run and issue, [daemon] stop-grace for
//     the daemon) to finish their issuance; when it is over, interrupted()
//     turns true: waits in the ACME client end at once by throwing
//     Interrupted, and the RAII guards unpublish on the way out.
//   - a second SIGINT/SIGTERM makes interrupted() true at once;
//   - the next one kills at once (the default action, restored by the
//     handler): the second with no grace (run, issue), else the third.
// SIGHUP (handled only when install_reload_handler() was called, by the
// daemon) sets a flag that take_reload_request() reads and clears.
// wait_for_signal() sleeps until any of these signals arrives (a self-pipe),
// so the daemon's long sleeps end at once.
#pragma once

#include <chrono>
#include <stdexcept>

namespace acmezone {

class Interrupted : public std::runtime_error {
  public:
    Interrupted() : std::runtime_error("interrupted by a signal") {}
};

// Installs the SIGINT/SIGTERM handlers (main() calls it once).
void install_interrupt_handlers();
// Installs the SIGHUP handler (the daemon calls it once).
void install_reload_handler();
// The grace that zones in flight get after the first stop signal (default 0).
void set_stop_grace(std::chrono::seconds grace);

// True once a SIGINT or SIGTERM arrived.
bool stop_requested();
// True once the work in flight must end: a stop signal plus the grace, a
// second stop signal, or request_interrupt().
bool interrupted();
// True once after each SIGHUP (reading clears it).
bool take_reload_request();

// Sets the flags as a second signal would (for tests).
void request_interrupt();
// Sets the flag as a first signal would (for tests).
void request_stop();
// Clears every flag (for tests).
void reset_interrupt();

// Sleeps `d`, waking every 50 ms to check the flag; throws Interrupted when set.
void sleep_or_interrupt(std::chrono::milliseconds d);
// Sleeps up to `d`; returns early (false) when a handled signal arrives or
// one has arrived since the last call, true when `d` passed.
bool wait_for_signal(std::chrono::milliseconds d);

}  // namespace acmezone
