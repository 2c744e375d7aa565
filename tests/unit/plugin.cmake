# Plugin unit tests: see plugin/.
# Serving side: claims, the record store (model and durability), the config,
# the shared core.
acmezone_unit_test(test_plugin_serving
    ${CMAKE_CURRENT_LIST_DIR}/test_zone_claims.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_challenge_store.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_challenge_store_layout.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_plugin_config.cpp
    ${CMAKE_CURRENT_LIST_DIR}/test_core.cpp
    LIBS acmezone_plugin_core)
target_compile_definitions(test_plugin_serving PRIVATE
    ACMEZONE_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

# Control side (TSIG, UPDATE decoding, grants, NOTIFY): one executable per
# file, registered as the files land.
foreach(name test_tsig_verifier test_update_message test_grant_table test_notifier
             test_control_server test_soa test_bad_input_catalogue)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
        acmezone_unit_test(${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp LIBS acmezone_plugin_core)
    endif()
endforeach()
