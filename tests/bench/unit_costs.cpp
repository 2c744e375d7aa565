// unit_costs — what each piece of one zone's issuance costs the issuer, alone
// (bench case 5, issue 18): the issuer's own code (acmezone_issuer_lib), one
// thread, each operation repeated and timed by the thread's CPU (user and
// system, getrusage RUSAGE_THREAD), against the case's real named (plugin) and
// Pebble. The sum of each cost times the times a zone needs it is what a
// 1,000-zone pass would cost a zone if nothing else ran: no other thread of
// the pass, no Pebble or named sharing the cores. The pass's own figure
// (scale.pass.1000.*) set beside it shows what the rest costs.
//
//   unit_costs --config ISSUER.conf --chain A/fullchain.pem --chain B/fullchain.pem
//              --work DIR [--rounds N]
//
// The config is the scale case's (its directory, ca-file, control socket, key
// and check server are used); the two chains are two zones' stored sets (a
// real Pebble leaf and chain each, privkey.pem beside): alternating them
// defeats the one-leaf cache the issuance's check keeps a thread. DIR (empty
// or missing) takes the state files and certificate sets written; it is on
// the file system the pass writes to. One line per operation on stdout:
//   unit NAME PER_ZONE USER_US SYS_US
// (microseconds of CPU per operation, PER_ZONE: how many a zone's first
// issuance makes), then
//   sum USER_US SYS_US
// and last the same pieces as one zone has them (the counts above, in the
// order of an issuance), one zone after the other, PER_ZONE 0:
//   unit zone_mix 0 USER_US SYS_US
// Operations, and where a zone needs them:
//   https_request  a request over the kept-alive connection (HttpClient::get
//                  of the directory): 9 a zone (newOrder, 2 authorizations, 2
//                  challenges, 2 order polls, finalize, download)
//   es256_sign     AccountKey::sign of a 600-octet JWS input: one a request
//   cert_key       CertKey::generate (P-256): 1
//   csr            make_csr_der for {Z, *.Z}: 1
//   cert_check     check_certificate of a Pebble chain (parse the leaf, its
//                  key and names, verify the chain): 1
//   dns_update     a TSIG-signed UPDATE to the control socket, answer
//                  checked (ChallengeDns::unpublish of a value not there):
//                  4 (the check before ordering writes and deletes a test
//                  value; the order's two values are written and deleted)
//   dns_query      a TXT query to the check server (exchange(), a socket each):
//                  5 (TXT twice, CNAME, SOA, CAA)
//   state_save     write_file_swapped of a zone's state (1.5 KB): 2 (the order
//                  in flight before its values are published; the outcome)
//   cert_store     CertStore::store of a new zone's first set: 1
// and two of the machine, for reading the others (PER_ZONE 0, not summed):
//   syscall        getppid(2)
//   wakeup         one thread waking another through a pipe and back (two
//                  wake-ups, four system calls)
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/dns_name.h"
#include "common/file_io.h"
#include "issuer/acme/account_key.h"
#include "issuer/acme/http_client.h"
#include "issuer/certs/cert_check.h"
#include "issuer/certs/cert_key.h"
#include "issuer/certs/cert_store.h"
#include "issuer/certs/csr.h"
#include "issuer/cli/issuer_config.h"
#include "issuer/dns/challenge_dns.h"
#include "issuer/dns/dns_exchange.h"

namespace fs = std::filesystem;
using namespace acmezone;
using namespace acmezone::issuer;

namespace {

struct Cpu {
    double user_us = 0, sys_us = 0;
};

Cpu thread_cpu() {
    rusage r{};
    getrusage(RUSAGE_THREAD, &r);
    return {static_cast<double>(r.ru_utime.tv_sec) * 1e6 + static_cast<double>(r.ru_utime.tv_usec),
            static_cast<double>(r.ru_stime.tv_sec) * 1e6 + static_cast<double>(r.ru_stime.tv_usec)};
}

struct Sum {
    double user_us = 0, sys_us = 0;
};

// Runs `op` `n` times after one untimed warm-up call; prints its line.
void measure(const char* name, int per_zone, int n, const std::function<void(int)>& op, Sum& sum) {
    op(-1);
    const Cpu a = thread_cpu();
    for (int i = 0; i < n; ++i) {
        op(i);
    }
    const Cpu b = thread_cpu();
    const double user = (b.user_us - a.user_us) / n, sys = (b.sys_us - a.sys_us) / n;
    std::printf("unit %s %d %.1f %.1f\n", name, per_zone, user, sys);
    std::fflush(stdout);
    sum.user_us += per_zone * user;
    sum.sys_us += per_zone * sys;
}

std::string read_all(const fs::path& p) {
    std::string s = read_file(p);
    if (s.empty()) {
        throw std::runtime_error(p.string() + " is empty");
    }
    return s;
}

struct Chain {
    std::string fullchain;
    CertKey key;
    std::vector<DnsName> names;
};

Chain load_chain(const fs::path& fullchain) {
    const fs::path dir = fullchain.parent_path();
    const DnsName zone = DnsName::parse(dir.filename().string());
    return Chain{read_all(fullchain),
                 CertKey::from_pem(read_all(dir / "privkey.pem"), (dir / "privkey.pem").string()),
                 {zone, DnsName::parse("*." + zone.text())}};
}

[[noreturn]] void usage(const std::string& why) {
    std::cerr << "unit_costs: " << why
              << "\nusage: unit_costs --config CONF --chain A/fullchain.pem "
                 "--chain B/fullchain.pem --work DIR [--rounds N]\n";
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) try {
    std::string config_path;
    std::vector<fs::path> chain_paths;
    fs::path work;
    int rounds = 2000;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            usage(a + " needs a value");
        }
        const std::string v = argv[++i];
        if (a == "--config") {
            config_path = v;
        } else if (a == "--chain") {
            chain_paths.emplace_back(v);
        } else if (a == "--work") {
            work = v;
        } else if (a == "--rounds") {
            rounds = std::stoi(v);
        } else {
            usage("unknown option " + a);
        }
    }
    if (config_path.empty() || chain_paths.size() != 2 || work.empty() || rounds < 10) {
        usage("--config, two --chain, --work and --rounds ≥ 10 are needed");
    }
    const IssuerConfig config = IssuerConfig::load(config_path);
    if (config.dns.controls.empty() || config.dns.check_servers.empty()) {
        usage(config_path + " has no control socket or no check server");
    }
    ensure_directory(work, 0755);
    const Chain chains[2] = {load_chain(chain_paths[0]), load_chain(chain_paths[1])};
    Sum sum;

    // The machine's.
    Sum ignored;
    measure(
        "syscall", 0, rounds * 50, [](int) { ::syscall(SYS_getppid); }, ignored);
    {
        int to[2], from[2];
        if (::pipe(to) != 0 || ::pipe(from) != 0) {
            throw std::runtime_error("pipe failed");
        }
        std::thread echo([&] {
            char c;
            while (::read(to[0], &c, 1) == 1 && c != 'q') {
                (void)!::write(from[1], &c, 1);
            }
        });
        measure(
            "wakeup", 0, rounds * 5,
            [&](int) {
                char c = 'x';
                (void)!::write(to[1], &c, 1);
                (void)!::read(from[0], &c, 1);
            },
            ignored);
        char q = 'q';
        (void)!::write(to[1], &q, 1);
        echo.join();
        for (int fd : {to[0], to[1], from[0], from[1]}) {
            ::close(fd);
        }
    }

    // The pieces, each once; measured alone below, then in a zone's order.
    HttpSettings hs;
    hs.ca_file = config.ca_file ? config.ca_file->string() : "";
    HttpClient http(hs);
    auto https_request = [&] {
        if (http.get(config.directory).status != 200) {
            throw std::runtime_error("the directory did not answer 200");
        }
    };
    const AccountKey account = AccountKey::generate();
    const std::string input(600, 'a');
    auto es256_sign = [&] { (void)account.sign(input); };
    auto cert_check = [&](const Chain& c) {
        (void)check_certificate(c.fullchain, c.key.public_der(), c.names);
    };
    ChallengeDns dns(config.dns);
    const DnsName owner = DnsName::parse("_acme-challenge." + chains[0].names[0].text());
    auto dns_update = [&] { dns.unpublish(owner, {"unit-costs-value-never-published"}); };
    const Endpoint server = config.dns.check_servers.front();
    auto dns_query = [&] {
        (void)query(server, owner, LDNS_RR_TYPE_TXT, false, config.dns.timeout);
    };
    const std::string state(1500, 's');
    auto state_save = [&](int i) {
        write_file_swapped(work / ("zone-" + std::to_string(i % 100) + ".json"), state, 0600);
    };
    CertStore store(work / "certs");
    const std::string key_pem = chains[0].key.private_pem();
    int stored = 0;  // each store a new zone's first
    auto cert_store = [&](const Chain& c) {
        store.store(DnsName::parse("u" + std::to_string(++stored) + ".unit.test"), key_pem,
                    c.fullchain);
    };

    measure(
        "https_request", 9, rounds, [&](int) { https_request(); }, sum);
    measure(
        "es256_sign", 9, rounds, [&](int) { es256_sign(); }, sum);
    measure(
        "cert_key", 1, rounds, [](int) { (void)CertKey::generate(KeyType::ecdsa_p256); }, sum);
    measure(
        "csr", 1, rounds,
        [&](int i) { (void)make_csr_der(chains[i & 1].key, chains[i & 1].names); }, sum);
    measure(
        "cert_check", 1, rounds, [&](int i) { cert_check(chains[i & 1]); }, sum);
    measure(
        "dns_update", 4, rounds / 4, [&](int) { dns_update(); }, sum);
    measure(
        "dns_query", 5, rounds / 4, [&](int) { dns_query(); }, sum);
    measure("state_save", 2, rounds / 4, state_save, sum);
    measure(
        "cert_store", 1, rounds / 4, [&](int) { cert_store(chains[0]); }, sum);
    std::printf("sum %.1f %.1f\n", sum.user_us, sum.sys_us);

    // The same pieces as one zone has them, one after the other: what the
    // sum is worth when no piece runs twice in a row (caches, predictors).
    Sum mixed;
    measure(
        "zone_mix", 0, rounds / 20,
        [&](int i) {
            const Chain& c = chains[i & 1];
            for (int n = 0; n < 4; ++n) {
                dns_query();
            }
            dns_update();
            dns_query();
            dns_update();
            for (int n = 0; n < 5; ++n) {
                es256_sign();
                https_request();
            }
            state_save(i);
            dns_update();
            const CertKey key = CertKey::generate(KeyType::ecdsa_p256);
            (void)make_csr_der(key, c.names);
            for (int n = 0; n < 4; ++n) {
                es256_sign();
                https_request();
            }
            cert_check(c);
            cert_store(c);
            dns_update();
            state_save(i);
        },
        mixed);
    return 0;
} catch (const std::exception& e) {
    std::cerr << "unit_costs: " << e.what() << "\n";
    return 1;
}
