// list_plugin_options: prints the long name of every option the plugin
// declares (plugin/plugin_config.cpp), one a line, "section.key" for keys in
// a section. The plugin is a module without a command line; this test-only
// tool lets test_man_pages.sh compare that declaration with acmezone_dlz(8).
#include <iostream>

#include "plugin/plugin_config.h"

int main() {
    for (const auto& option : acmezone::plugin::PluginConfig::options().options()) {
        std::cout << option->long_name() << "\n";
    }
    return 0;
}
