# Issuer integration tests (named + plugin + Pebble).

# issuer-acme: acmezone-issuer against real named (with the plugin) and Pebble.
acmezone_integration_test(issuer_pebble test_issuer_pebble.sh TIMEOUT 300)
# issue 18: 200 zones in one pass, every one its certificate.
acmezone_integration_test(issuer_scale test_issuer_scale.sh TIMEOUT 300)
acmezone_integration_test(issuer_failures test_issuer_failures.sh TIMEOUT 300)
acmezone_integration_test(issuer_retries test_issuer_retries.sh TIMEOUT 300)
acmezone_integration_test(issuer_faults test_issuer_faults.sh TIMEOUT 420)
acmezone_integration_test(issuer_check test_issuer_check.sh TIMEOUT 300)
# Zone names holding '/' stay one path component (no named, no CA).
acmezone_integration_test(issuer_zone_paths test_issuer_zone_paths.sh TIMEOUT 300)
acmezone_integration_test(issuer_gdnsd test_issuer_gdnsd.sh TIMEOUT 300)

# issuer-certs: two key types, preferred chain, pins, deploy/notify hooks, metrics.
acmezone_integration_test(issuer_hooks test_issuer_hooks.sh TIMEOUT 300)
# Certificate Transparency: Pebble embeds no SCTs, so ct = require refuses its
# certificates (the old one stays), warn stores them, off does not look.
acmezone_integration_test(issuer_ct test_issuer_ct.sh TIMEOUT 300)

# issuer-schedule: only due certificates renewed (ARI through the proxy),
# the state lock, kill -9 mid-validation and recovery, backoff, the daemon.
acmezone_integration_test(issuer_schedule test_issuer_schedule.sh TIMEOUT 420)

# issuer-hooks: the "expiring" notice end to end (10-day certificates, Pebble down).
acmezone_integration_test(issuer_expiring test_issuer_expiring.sh TIMEOUT 300)

# issuer-ca2: the rate-limit budget, a fallback CA (a second Pebble with EAB).
acmezone_integration_test(issuer_ratelimit test_issuer_ratelimit.sh TIMEOUT 300)
acmezone_integration_test(issuer_fallback test_issuer_fallback.sh TIMEOUT 300)
acmezone_integration_test(issuer_eab test_issuer_eab.sh TIMEOUT 180)
# One CA session per pass: a fallback pass's CAA identities and ARI are the fallback's.
acmezone_integration_test(issuer_fallback_ca test_issuer_fallback_ca.sh TIMEOUT 300)
# Standby certificates from a second CA (a second Pebble with EAB): issued
# beside the live sets without changing them.
acmezone_integration_test(issuer_standby test_issuer_standby.sh TIMEOUT 300)
# kill -9 during a standby issuance (through the fault proxy): both sets intact.
acmezone_integration_test(issuer_standby_kill test_issuer_standby_kill.sh TIMEOUT 300)
acmezone_integration_test(issuer_standby_next_key test_issuer_standby_next_key.sh TIMEOUT 180)
# The standby set renewed by its own CA's ARI window (acme_fault_proxy.py --ari).
acmezone_integration_test(issuer_standby_ari test_issuer_standby_ari.sh TIMEOUT 180)

# zones-example/hooks/nginx-deploy alone against nginx -t: quoted paths, file
# names from ACMEZONE_ZONE_FILE.
acmezone_integration_test(issuer_nginx_deploy test_nginx_deploy.sh TIMEOUT 120)

# issuer-serve: `acmezone-issuer serve` over mutual TLS (real named, Pebble,
# openssl-made host CA, curl and s_client): allowed and refused hosts,
# refused handshakes, traversal, limits, 304, long poll, staging, drain.
acmezone_integration_test(issuer_serve test_issuer_serve.sh TIMEOUT 300)

# acmezone-fetch against a real serve (mutual TLS on loopback, real issuance):
# allowed and refused hosts, a tampered set, a server down, kill -9 while
# installing (strace holds the switch), a full disk (tmpfs, as root), --watch
# after `issue --force`, --mirror served again.
acmezone_integration_test(issuer_fetch test_fetch.sh TIMEOUT 400)

# Issue 21: the plugin and the issuer follow a catalog zone that named serves
# (nsupdate to it, NOTIFY to the control socket, bad catalogs, 1000 members).
acmezone_integration_test(catalog test_catalog.sh TIMEOUT 420)
