// journal_dump: a test tool that prints the plugin's journal, one line per
// record and name, with the plugin's own decoder (store_journal.h), so that
// a test can see every value a client held at a name, however briefly:
//
//   journal_dump STATE_DIR/journal
//   → "7 _acme-challenge.example.com \"token-a\" \"token-b\""  (serial, name, values)
//   → "8 _acme-challenge.example.com"                          (the name is gone)
//
// Each value is printed as its strings, each in double quotes, joined by a
// space; values are separated by a space too (test values are one string).
// Exit status 0 when every frame decoded, 1 when the journal was torn or
// could not be read (the reason on stderr), 2 on bad arguments.
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "plugin/store_journal.h"

using namespace acmezone;
using namespace acmezone::plugin;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: journal_dump JOURNAL_FILE\n";
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::cerr << "journal_dump: cannot open " << argv[1] << "\n";
        return 1;
    }
    std::ostringstream data;
    data << in.rdbuf();
    const auto decoded =
        store_journal::decode_frames_each(data.str(), [](store_journal::Record&& r) {
            for (const auto& n : r.names) {
                std::cout << r.serial << ' ' << n.name.text();
                for (const auto& v : n.values) {
                    for (const auto& s : v.data) {
                        std::cout << " \"" << s << '"';
                    }
                }
                std::cout << '\n';
            }
        });
    if (!decoded.torn.empty()) {
        std::cerr << "journal_dump: " << argv[1] << ": " << decoded.torn << "\n";
        return 1;
    }
    return 0;
}
