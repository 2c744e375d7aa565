# Plugin integration tests (named + nsupdate + dig).
acmezone_integration_test(plugin_serving test_plugin_serving.sh TIMEOUT 300)
acmezone_integration_test(plugin_durability test_plugin_durability.sh TIMEOUT 300)
acmezone_integration_test(plugin_bad_config test_plugin_bad_config.sh TIMEOUT 300)
acmezone_integration_test(plugin_faults test_plugin_faults.sh TIMEOUT 600)
acmezone_integration_test(plugin_quota test_plugin_quota.sh TIMEOUT 300)

# Control socket (plugin-control): real named + nsupdate/dig, plus send_update,
# a test-only tool for faults nsupdate cannot make (stale time, truncated MAC).
add_executable(send_update ${CMAKE_CURRENT_LIST_DIR}/send_update.cpp)
target_link_libraries(send_update PRIVATE acmezone_plugin_core)
acmezone_integration_test(plugin_control test_plugin_control.sh TIMEOUT 300)
set_property(TEST plugin_control APPEND PROPERTY ENVIRONMENT
    "ACMEZONE_SEND_UPDATE=$<TARGET_FILE:send_update>")

# The RFC 2136 clients the README names (knsupdate, certbot-dns-rfc2136,
# lego), each writing to the control socket; certbot and lego get
# certificates from Pebble. journal_dump prints the plugin's journal (every
# value a client held) with the plugin's own decoder.
add_executable(journal_dump ${CMAKE_CURRENT_LIST_DIR}/journal_dump.cpp)
target_link_libraries(journal_dump PRIVATE acmezone_plugin_core)
foreach(client knsupdate certbot lego)
    acmezone_integration_test(plugin_clients_${client} test_plugin_clients.sh TIMEOUT 600
        ARGS ${client})
    set_property(TEST plugin_clients_${client} APPEND PROPERTY ENVIRONMENT
        "ACMEZONE_JOURNAL_DUMP=$<TARGET_FILE:journal_dump>")
endforeach()

# Durability before the answer: sync_order_shim.so (preloaded into named)
# records the state-dir's writes and syncs and the control socket's messages
# in order; check_sync_order.py holds every acknowledged UPDATE to "synced
# before answered". Built without sanitizers (it goes after their runtimes).
add_library(sync_order_shim MODULE ${CMAKE_CURRENT_LIST_DIR}/sync_order/sync_order_shim.c)
set_target_properties(sync_order_shim PROPERTIES PREFIX "" C_STANDARD 11 C_EXTENSIONS ON)
# -Wno-pedantic: dlsym's object pointer becomes a function pointer.
target_compile_options(sync_order_shim PRIVATE -Wno-pedantic -fno-sanitize=all)
target_link_options(sync_order_shim PRIVATE -fno-sanitize=all)
target_link_libraries(sync_order_shim PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
acmezone_integration_test(plugin_sync_order test_plugin_sync_order.sh TIMEOUT 300)
set_property(TEST plugin_sync_order APPEND PROPERTY ENVIRONMENT
    "ACMEZONE_SYNC_SHIM=$<TARGET_FILE:sync_order_shim>")

# TCP slots (issue 20 item 3): 300 connections from 127.0.0.1 sending
# unsigned queries (tcp_slot_holder.py) cannot keep a signed UPDATE from
# 127.0.0.2 out, and are closed once past their free renewals.
acmezone_integration_test(plugin_tcp_slots test_plugin_tcp_slots.sh TIMEOUT 300)

# Replay after a restart (issue 20 item 4): an UPDATE captured on its way
# (dns_capture.py) and sent again after named restarted is BADTIME.
acmezone_integration_test(plugin_replay test_plugin_replay.sh TIMEOUT 300)
