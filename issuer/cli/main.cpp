// acmezone-issuer: wildcard certificates {Z, *.Z} for every configured zone,
// by ACME DNS-01 through the acmezone plugin's control socket.
//
//   acmezone-issuer --config issuer.conf run
//   acmezone-issuer --config issuer.conf issue ZONE... [--force]
//   acmezone-issuer --config issuer.conf status [--json] [--pins | --fleet]
//   acmezone-issuer --config issuer.conf check [ZONE...] [--json]
//   acmezone-issuer --config issuer.conf daemon
//   acmezone-issuer --config issuer.conf switch ZONE... | --all
//   acmezone-issuer --config issuer.conf serve
//
// Exit codes: 0 all good, 1 some zone failed, 2 bad configuration or usage,
// 3 another acmezone-issuer holds the state lock (nothing done).
// Signals: SIGINT/SIGTERM stop cleanly (interrupt.h); the daemon re-reads its
// configuration on SIGHUP and lets zones in flight finish on SIGTERM (runner.h);
// serve drains on SIGTERM and re-reads on SIGHUP (issuer/serve/server.h).
// See issuer_config.h for the file and runner.h for the commands.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "issuer/cli/check_command.h"
#include "issuer/cli/fleet_command.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/cli/pins_command.h"
#include "issuer/cli/status_command.h"
#include "issuer/pass/runner.h"
#include "issuer/serve/server.h"

namespace po = boost::program_options;
using namespace acmezone;
using namespace acmezone::issuer;

namespace {

const char* kUsage =
    "usage: acmezone-issuer --config FILE run\n"
    "       acmezone-issuer --config FILE issue ZONE... [--force]\n"
    "       acmezone-issuer --config FILE status [--json] [--pins | --fleet]\n"
    "       acmezone-issuer --config FILE check [ZONE...] [--json]\n"
    "       acmezone-issuer --config FILE daemon\n"
    "       acmezone-issuer --config FILE switch ZONE... | --all\n"
    "       acmezone-issuer --config FILE serve\n";

int main_checked(int argc, char** argv) {
    po::options_description opts("options");
    // clang-format off
    opts.add_options()
        ("config,c", po::value<std::string>(), "configuration file (INI)")
        ("force", "issue: even when the certificate is not due")
        ("all", "switch: every configured zone")
        ("json", "status, check: JSON instead of text")
        ("pins", "status: SPKI SHA-256 pins of the current and next keys (TLSA 3 1 1)")
        ("fleet", "status: which hosts fetched which version from serve, and which are outdated")
        ("verbose,v", "debug logging (ACME requests, DNS steps)")
        ("help,h", "this help")
        ("help-config", "every configuration option, with defaults");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::string>())(
        "args", po::value<std::vector<std::string>>()->composing());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("command", 1).add("args", -1);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "acmezone-issuer: " << e.what() << "\n" << kUsage;
        return kExitConfig;
    }
    if (vm.count("help")) {
        std::cout << kUsage << opts;
        return kExitOk;
    }
    if (vm.count("help-config")) {
        std::cout << IssuerConfig::options();
        return kExitOk;
    }
    if (!vm.count("config") || !vm.count("command")) {
        std::cerr << "acmezone-issuer: "
                  << (vm.count("config") ? "no command" : "--config is required") << "\n"
                  << kUsage;
        return kExitConfig;
    }
    set_log_level(vm.count("verbose") ? LogLevel::debug : LogLevel::info);
    const std::string command = vm["command"].as<std::string>();
    const auto args =
        vm.count("args") ? vm["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
    const bool force = vm.count("force") > 0;
    const bool json = vm.count("json") > 0;
    if ((command == "run" || command == "status" || command == "daemon" || command == "serve") &&
        !args.empty()) {
        std::cerr << "acmezone-issuer: " << command << " takes no zone names (use issue ZONE...)\n";
        return kExitConfig;
    }
    const bool all_zones = vm.count("all") > 0;
    if (all_zones && command != "switch") {
        std::cerr << "acmezone-issuer: --all applies to switch only\n";
        return kExitConfig;
    }
    if (command == "switch" && args.empty() == !all_zones) {
        std::cerr << "acmezone-issuer: switch needs zone names or --all (not both)\n" << kUsage;
        return kExitConfig;
    }
    if (command == "issue" && args.empty()) {
        std::cerr << "acmezone-issuer: issue needs at least one zone name\n" << kUsage;
        return kExitConfig;
    }
    if (force && command != "issue") {
        std::cerr << "acmezone-issuer: --force applies to issue only\n";
        return kExitConfig;
    }
    if (json && command != "status" && command != "check") {
        std::cerr << "acmezone-issuer: --json applies to status and check only\n";
        return kExitConfig;
    }
    const bool pins = vm.count("pins") > 0;
    if (pins && command != "status") {
        std::cerr << "acmezone-issuer: --pins applies to status only\n";
        return kExitConfig;
    }
    const bool fleet = vm.count("fleet") > 0;
    if (fleet && (command != "status" || pins)) {
        std::cerr << "acmezone-issuer: --fleet applies to status only, without --pins\n";
        return kExitConfig;
    }
    if (command != "run" && command != "issue" && command != "status" && command != "check" &&
        command != "daemon" && command != "serve" && command != "switch") {
        std::cerr << "acmezone-issuer: unknown command \"" << command << "\"\n" << kUsage;
        return kExitConfig;
    }

    if (command == "serve") {  // its own signal handling (server.h)
        try {
            const std::string path = vm["config"].as<std::string>();
            return serve(IssuerConfig::load(path), path);
        } catch (const ConfigError& e) {
            log_error(e.what());
            return kExitConfig;
        }
    }
    install_interrupt_handlers();
    try {
        if (command == "check") {
            return check_command(IssuerConfig::load(vm["config"].as<std::string>()), args, json,
                                 std::cout);
        }
        Runner runner(IssuerConfig::load(vm["config"].as<std::string>()));
        if (command == "run") {
            return runner.run();
        }
        if (command == "issue") {
            return runner.issue(args, force);
        }
        if (command == "daemon") {
            return runner.daemon();
        }
        if (command == "switch") {
            return runner.switch_zones(args, all_zones);
        }
        if (pins) {
            return print_pins(runner.config(), json, std::cout);
        }
        if (fleet) {
            return fleet_status_command(runner.config(), json, std::cout);
        }
        return status_command(runner.config(), json, std::cout);
    } catch (const ConfigError& e) {
        log_error(e.what());
        return kExitConfig;
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return main_checked(argc, argv);
    } catch (const std::exception& e) {
        log_error(e.what());
        return kExitFailed;
    }
}
