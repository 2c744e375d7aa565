# Issuer unit tests, one executable per folder of issuer/.

# acme/: account key and JWS, ACME messages, ARI (certID from real
# certificates, renewalInfo answers), External Account Binding (HMAC checked
# independently with OpenSSL); hermetic (an in-memory test PKI).
acmezone_unit_test(test_issuer_acme
    ${CMAKE_CURRENT_LIST_DIR}/acme/test_jws.cpp
    ${CMAKE_CURRENT_LIST_DIR}/acme/test_acme_messages.cpp
    ${CMAKE_CURRENT_LIST_DIR}/acme/test_ari.cpp
    ${CMAKE_CURRENT_LIST_DIR}/acme/test_eab.cpp
    LIBS acmezone_issuer_lib)

# dns/: ChallengeDns, dns_exchange, tsig_signer, authoritative_servers,
# against a real named started by tests/unit/named_fixture.h (needs named,
# tsig-keygen and dig on PATH); test_update_answers fakes only the control
# socket, for answers named cannot be made to give (BADTIME, unsigned
# NOERROR); the checks before ordering (CAA decisions, refusal advice, the
# test value) and the gdnsdctl publisher (a stand-in script records its argv).
acmezone_unit_test(test_issuer_dns
    ${CMAKE_CURRENT_LIST_DIR}/dns/test_challenge_dns.cpp
    ${CMAKE_CURRENT_LIST_DIR}/dns/test_update_answers.cpp
    ${CMAKE_CURRENT_LIST_DIR}/dns/test_precheck.cpp
    LIBS acmezone_issuer_lib GTest::gmock)

# certs/: CSR, certificate checks, the certificate store, SPKI pins (against
# openssl's command line), Certificate Transparency (a real logged
# certificate and its logs' keys, certs/ct/README.md); hermetic.
acmezone_unit_test(test_issuer_certs
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_cert_key.cpp
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_csr.cpp
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_cert_check.cpp
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_cert_store.cpp
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_pins.cpp
    ${CMAKE_CURRENT_LIST_DIR}/certs/test_ct.cpp
    LIBS acmezone_issuer_lib)
target_compile_definitions(test_issuer_certs PRIVATE ACMEZONE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# ca/: the rate-limit budget (injected clock, libpsl, persistence), the
# [acme] options for EAB and the fallback CA, the fallback's failure memory.
acmezone_unit_test(test_issuer_ca
    ${CMAKE_CURRENT_LIST_DIR}/ca/test_rate_budget.cpp
    ${CMAKE_CURRENT_LIST_DIR}/ca/test_ca_config.cpp
    LIBS acmezone_issuer_lib TSAN)

# pass/: renewal times, spread and backoff with injected clocks, the zone
# state file and its state changes (record_*), one pass driven against a
# fake CA session and publisher (pass_env.h).
acmezone_unit_test(test_issuer_pass
    ${CMAKE_CURRENT_LIST_DIR}/pass/test_schedule.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pass/test_zone_state_changes.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pass/test_pass.cpp
    ${CMAKE_CURRENT_LIST_DIR}/pass/test_cert_summary.cpp
    LIBS acmezone_issuer_lib TSAN)

# cli/: issuer.conf and the zones file.
acmezone_unit_test(test_issuer_cli
    ${CMAKE_CURRENT_LIST_DIR}/cli/test_issuer_config.cpp
    LIBS acmezone_issuer_lib)

# cli/: status's listing over a test PKI's certificates, its zones read by a
# few threads (so also in the ThreadSanitizer tier).
acmezone_unit_test(test_issuer_status
    ${CMAKE_CURRENT_LIST_DIR}/cli/test_status_command.cpp
    LIBS acmezone_issuer_lib TSAN)

# outputs/: the metrics text format, hooks (environment, stdin, exit codes,
# timeouts) and notifications.
acmezone_unit_test(test_issuer_outputs
    ${CMAKE_CURRENT_LIST_DIR}/outputs/test_metrics.cpp
    ${CMAKE_CURRENT_LIST_DIR}/outputs/test_hooks.cpp
    LIBS acmezone_issuer_lib)

# serve/: the distribution service's pure parts: access rules (names,
# full-match expressions), request targets (traversal and encodings never a
# zone), staging decisions, client certificate names (test PKI), the fleet
# view (fleet.json, outdated hosts) and serve's metrics.
acmezone_unit_test(test_issuer_serve
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_access_rules.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_request_target.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_staging.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_zone_answers.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_current_links.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_answer_bytes.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_client_identity.cpp
    ${CMAKE_CURRENT_LIST_DIR}/serve/test_fleet_view.cpp
    LIBS acmezone_issuer_lib)

# json/: the one JSON reader (never throws, bounded nesting) and the styled
# writer (the same text as jsoncpp's); hermetic.
acmezone_unit_test(test_issuer_json
    ${CMAKE_CURRENT_LIST_DIR}/json/test_json_text.cpp
    ${CMAKE_CURRENT_LIST_DIR}/json/test_json_styled.cpp
    LIBS acmezone_issuer_lib)

# fetch/: acmezone-fetch's answers (parsed and checked before installing,
# test PKI), its atomic install in the store's layout and `check`.
acmezone_unit_test(test_issuer_fetch
    ${CMAKE_CURRENT_LIST_DIR}/fetch/test_zone_set.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fetch/test_fetch_store.cpp
    ${CMAKE_CURRENT_LIST_DIR}/fetch/test_config_check.cpp
    LIBS acmezone_issuer_lib)
