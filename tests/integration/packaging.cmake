# Packaging: man pages, Debian packages, the README's walkthrough.

# man_pages (label unit: fast and hermetic, so that every change to a command,
# an option or a config key is caught by the unit tier): the man pages in
# packaging/man/ against the issuer's --help/--help-config and the plugin's
# option declaration, printed by list_plugin_options (a test-only tool).
add_executable(list_plugin_options ${CMAKE_CURRENT_LIST_DIR}/list_plugin_options.cpp)
target_link_libraries(list_plugin_options PRIVATE acmezone_plugin_core)
add_test(NAME man_pages COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_man_pages.sh)
set_tests_properties(man_pages PROPERTIES LABELS unit TIMEOUT 60
    ENVIRONMENT "${ACMEZONE_IT_ENV};ACMEZONE_LIST_PLUGIN_OPTIONS=$<TARGET_FILE:list_plugin_options>")

# package_install: scripts/package, lintian, apt-get install of both packages,
# named with the installed module and the installed issuer (as user acmezone)
# against Pebble, an upgrade, a purge. Installs packages on this machine (root;
# refuses when acmezone packages or user already exist; purges on exit).
acmezone_integration_test(package_install test_package_install.sh TIMEOUT 2400)

# readme_walkthrough: the sh blocks of README.md's "The operator's first hour",
# run in order in a sandbox against real named with the plugin and Pebble.
acmezone_integration_test(readme_walkthrough test_readme_walkthrough.sh TIMEOUT 900)
