# Plugin unit tests (plugin/).
# Serving side: claims, the record store (model and durability), the config,
# the shared core.
acmezone_unit_test(test_plugin_serving
    ${CMAKE_CURRENT_LIST_DIR}/test_zone_claims.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_query_name.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_challenge_store.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_challenge_store_layout.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_plugin_config.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_core.cpp
    LIBS acmezone_plugin_core TSAN)
target_compile_definitions(test_plugin_serving PRIVATE
    ACMEZONE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# Control side (TSIG, UPDATE decoding, grants, NOTIFY, the control socket's
# transport and its message handler each on its own, the whole control
# socket, the catalogue of bad input): one executable per file.
foreach(name test_tsig_verifier test_update_message test_grant_table test_control_handler
             test_soa test_bad_input_catalogue)
    acmezone_unit_test(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp LIBS acmezone_plugin_core)
endforeach()
# Threads: the notifier's, the control socket's (also under TSan).
foreach(name test_notifier test_control_transport test_control_server)
    acmezone_unit_test(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp LIBS acmezone_plugin_core
        TSAN)
endforeach()

# The DLZ ABI as plugin/dlz_abi.h declares it, held to BIND's own headers,
# and the module's exported symbols.
add_library(bind_abi_values STATIC ${CMAKE_CURRENT_LIST_DIR}/bind_abi_values.c)
# BIND's headers need these (its config.h defines them when BIND is built).
target_compile_definitions(bind_abi_values PRIVATE HAVE_STDATOMIC_H=1 HAVE_UCHAR_H=1)
target_compile_options(bind_abi_values PRIVATE -Wno-pedantic)
set_target_properties(bind_abi_values PROPERTIES C_STANDARD 11 C_EXTENSIONS ON)
acmezone_unit_test(test_dlz_abi ${CMAKE_CURRENT_LIST_DIR}/test_dlz_abi.cpp
    LIBS bind_abi_values)
target_include_directories(test_dlz_abi PRIVATE ${PROJECT_SOURCE_DIR})

add_test(NAME plugin_exports_only_dlz
    COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_exports.sh $<TARGET_FILE:acmezone_dlz>)
set_tests_properties(plugin_exports_only_dlz PROPERTIES LABELS unit)
