# Issuer unit tests: see issuer/.

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
