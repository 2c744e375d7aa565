# Issuer unit tests: see issuer/.

# issuer-dns: ChallengeDns, dns_exchange, tsig_signer, authoritative_servers,
# against a real named started by tests/unit/named_fixture.h (needs named,
# tsig-keygen and dig on PATH); test_update_answers fakes only the control
# socket, for answers named cannot be made to give (BADTIME, unsigned NOERROR).
acmezone_unit_test(test_issuer_dns
    ${CMAKE_CURRENT_LIST_DIR}/test_challenge_dns.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_update_answers.cpp
    LIBS acmezone_issuer_lib GTest::gmock)

# issuer-acme: account key and JWS, CSR, certificate checks, certificate
# store, configuration, ACME messages; hermetic (an in-memory test PKI).
acmezone_unit_test(test_issuer_acme
    ${CMAKE_CURRENT_LIST_DIR}/test_jws.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_csr.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_cert_check.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_cert_store.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_issuer_config.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_acme_messages.cpp
    LIBS acmezone_issuer_lib)

# issuer-ops: the checks before ordering (CAA decisions, refusal advice, the
# test value) and the gdnsdctl publisher (a stand-in script records its argv),
# with their options; hermetic.
acmezone_unit_test(test_issuer_ops
    ${CMAKE_CURRENT_LIST_DIR}/test_precheck.cpp
    LIBS acmezone_issuer_lib GTest::gmock)
# issuer-schedule: renewal times, spread and backoff with injected clocks, the
# zone state file, the state lock, signals (stop grace, SIGHUP wake-up), ARI
# (certID from real certificates, renewalInfo answers).
acmezone_unit_test(test_issuer_schedule
    ${CMAKE_CURRENT_LIST_DIR}/test_schedule.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_ari.cpp
    LIBS acmezone_issuer_lib)

# issuer-certs: SPKI pins (against openssl's command line), the metrics text
# format, hooks (environment, stdin, exit codes, timeouts) and notifications.
acmezone_unit_test(test_issuer_certs
    ${CMAKE_CURRENT_LIST_DIR}/test_pins.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_metrics.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_hooks.cpp
    LIBS acmezone_issuer_lib)

# issuer-ca: the rate-limit budget (injected clock, libpsl, persistence),
# External Account Binding (HMAC checked independently with OpenSSL), the
# [acme] options for both and the fallback CA's failure memory.
acmezone_unit_test(test_issuer_ca
    ${CMAKE_CURRENT_LIST_DIR}/test_rate_budget.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_eab.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_ca_config.cpp
    LIBS acmezone_issuer_lib)
