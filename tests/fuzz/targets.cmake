# The fuzz targets and the libraries each links: one list for both builds
# that compile them. The caller defines acmezone_fuzz_target(NAME LIBS lib...)
# first: tests/fuzz/CMakeLists.txt (clang, libFuzzer, ACMEZONE_FUZZ=ON) and
# tests/fuzz/replay.cmake (every normal build: each target's source with
# replay_main.cpp, run by CTest over its committed corpus and reproducers).
acmezone_fuzz_target(fuzz_update_message LIBS acmezone_plugin_core)
acmezone_fuzz_target(fuzz_tsig_keyring LIBS acmezone_common)
acmezone_fuzz_target(fuzz_catalog_zone LIBS acmezone_common)
acmezone_fuzz_target(fuzz_plugin_config LIBS acmezone_plugin_core)
acmezone_fuzz_target(fuzz_store_journal LIBS acmezone_plugin_core)
acmezone_fuzz_target(fuzz_acme_json LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_cert_chain LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_ari LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_tcp_framing LIBS acmezone_plugin_core)
acmezone_fuzz_target(fuzz_dns_answer LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_tsig_answer LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_issuer_config LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_state_files LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_fetch_answer LIBS acmezone_issuer_lib)
acmezone_fuzz_target(fuzz_request_target LIBS acmezone_issuer_lib)
