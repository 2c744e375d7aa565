// acmezone-fetch: installs the certificates of the zones this host serves,
// pulled from `acmezone-issuer serve` over mutual TLS (fetcher.h).
//
//   acmezone-fetch --config fetch.conf [--force] [--watch] [--mirror]
//   acmezone-fetch --config fetch.conf status [--json]
//   acmezone-fetch --config fetch.conf check [--mirror]
#include <curl/curl.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <string>

#include "common/error.h"
#include "common/interrupt.h"
#include "common/log.h"
#include "issuer/fetch/config_check.h"
#include "issuer/fetch/fetch_config.h"
#include "issuer/fetch/fetch_state.h"
#include "issuer/fetch/fetcher.h"

namespace po = boost::program_options;
using namespace acmezone;
using namespace acmezone::issuer;

namespace {

const char* kUsage =
    "usage: acmezone-fetch --config FILE [--force] [--watch] [--mirror]\n"
    "       acmezone-fetch --config FILE status [--json]\n"
    "       acmezone-fetch --config FILE check [--mirror]\n";

const char* kExitStatuses =
    "exit status:\n"
    "  0  every zone is current (installed now or already), the deploy hook (if run)\n"
    "     succeeded; status: every zone installed and its last fetch ended well\n"
    "  1  some zone was not fetched or not installed (its installed files are unchanged),\n"
    "     or the deploy hook failed; status: some zone not installed or failing\n"
    "  2  bad configuration or command line\n"
    "  3  another acmezone-fetch holds the target directory's lock (nothing done)\n"
    "check (contacts no server): 0 the configuration and the files it names are usable,\n"
    "  1 a file is missing, does not parse, is not valid now or the key does not match,\n"
    "  2 bad configuration\n";

int main_checked(int argc, char** argv) {
    po::options_description opts("options");
    // clang-format off
    opts.add_options()
        ("config,c", po::value<std::string>(), "configuration file (fetch.conf)")
        ("force", "install a version older than the installed one")
        ("watch", "keep a long poll per zone and install each new version as it comes")
        ("mirror", "every zone the server lists for this host, keys 0600: a store "
                   "`acmezone-issuer serve` can serve")
        ("json", "status: JSON instead of text")
        ("verbose,v", "debug logging")
        ("help,h", "this help")
        ("help-config", "every configuration option, with defaults");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("command", po::value<std::string>());
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("command", 1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "acmezone-fetch: " << e.what() << "\n" << kUsage;
        return kFetchUsage;
    }
    if (vm.count("help")) {
        std::cout << kUsage << "\n" << opts << "\n" << kExitStatuses;
        return kFetchOk;
    }
    if (vm.count("help-config")) {
        std::cout << FetchConfig::options();
        return kFetchOk;
    }
    if (vm.count("verbose")) {
        set_log_level(LogLevel::debug);
    }
    if (!vm.count("config")) {
        std::cerr << "acmezone-fetch: --config is required\n" << kUsage;
        return kFetchUsage;
    }
    const std::string command = vm.count("command") ? vm["command"].as<std::string>() : "";
    if (!command.empty() && command != "status" && command != "check") {
        std::cerr << "acmezone-fetch: unknown command \"" << command << "\"\n" << kUsage;
        return kFetchUsage;
    }
    FetchOptions options;
    options.force = vm.count("force") != 0;
    options.watch = vm.count("watch") != 0;
    options.mirror = vm.count("mirror") != 0;
    if (command == "status" && (options.force || options.watch || options.mirror)) {
        std::cerr << "acmezone-fetch: status takes only --json\n" << kUsage;
        return kFetchUsage;
    }
    if (command == "check" && (options.force || options.watch || vm.count("json"))) {
        std::cerr << "acmezone-fetch: check takes only --mirror\n" << kUsage;
        return kFetchUsage;
    }
    if (command.empty() && vm.count("json")) {
        std::cerr << "acmezone-fetch: --json is for status\n" << kUsage;
        return kFetchUsage;
    }
    try {
        const FetchConfig config = FetchConfig::load(vm["config"].as<std::string>());
        if (command == "status") {
            return print_fetch_status(config.target, config.zones, vm.count("json") != 0,
                                      std::cout);
        }
        if (command == "check") {
            return check_fetch_config(config, options.mirror, std::cout);
        }
        if (config.zones.empty() && !options.mirror) {
            throw ConfigError(config.origin +
                              ": zone: no zone to fetch (give zone = ZONE, or "
                              "--mirror for every zone the server lists)");
        }
        install_interrupt_handlers();
        return run_fetch(config, options);
    } catch (const ConfigError& e) {
        log_error(e.what());
        return kFetchUsage;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        std::cerr << "acmezone-fetch: curl_global_init failed\n";
        return kFetchFailed;
    }
    try {
        return main_checked(argc, argv);
    } catch (const std::exception& e) {
        log_error(e.what());
        return kFetchFailed;
    }
}
