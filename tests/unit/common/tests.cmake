acmezone_unit_test(test_common
    ${CMAKE_CURRENT_LIST_DIR}/test_base64.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_catalog_zone.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_config_file.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_dns_name.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_dns_wire.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_endpoint.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_file_io.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_log.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_name_path.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_option_table.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_parallel.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_tsig_keyring.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_utc_time.cpp
    LIBS acmezone_common TSAN)

# The AXFR client against a real named (tests/unit/named_fixture.h: needs named
# and tsig-keygen on PATH).
acmezone_unit_test(test_common_axfr
    ${CMAKE_CURRENT_LIST_DIR}/test_axfr_client.cpp
    LIBS acmezone_common)
