# Plugin integration tests (named + nsupdate + dig).
acmezone_integration_test(plugin_serving test_plugin_serving.sh TIMEOUT 300)
acmezone_integration_test(plugin_durability test_plugin_durability.sh TIMEOUT 300)
acmezone_integration_test(plugin_bad_config test_plugin_bad_config.sh TIMEOUT 300)
acmezone_integration_test(plugin_faults test_plugin_faults.sh TIMEOUT 600)

# Control socket (plugin-control): real named + nsupdate/dig, plus send_update,
# a test-only tool for faults nsupdate cannot make (stale time, truncated MAC).
add_executable(send_update ${CMAKE_CURRENT_LIST_DIR}/send_update.cpp)
target_link_libraries(send_update PRIVATE acmezone_plugin_core)
acmezone_integration_test(plugin_control test_plugin_control.sh TIMEOUT 300)
set_property(TEST plugin_control APPEND PROPERTY ENVIRONMENT
    "ACMEZONE_SEND_UPDATE=$<TARGET_FILE:send_update>")
