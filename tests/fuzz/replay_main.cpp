// A main() for a libFuzzer target without libFuzzer (tests/fuzz/replay.cmake):
//   replay_<target> CORPUS_DIR [CRASHES_DIR]
// calls LLVMFuzzerTestOneInput once on every regular file of CORPUS_DIR
// (which must exist and hold at least one) and of CRASHES_DIR (which may be
// missing: most targets have no findings), in name order. A crash, an
// uncaught exception or a sanitizer report ends the process as it would
// under libFuzzer; a target that returns anything but 0 (libFuzzer's "do not
// keep this input") fails too, since every committed input must be usable.
// Prints each file before running it, so that a failure names the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> files_in(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const fs::directory_entry& e : fs::directory_iterator(dir)) {
        if (e.is_regular_file()) {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Runs every file; false on one that cannot be read or that the target refused.
bool replay(const std::vector<fs::path>& files) {
    for (const fs::path& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
        if (!in.eof() && in.fail()) {
            std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
            return false;
        }
        std::fprintf(stderr, "replay: %s (%zu octets)\n", f.c_str(), bytes.size());
        // A copy the exact size of the input, as libFuzzer passes it, so
        // that ASan sees any read past its end.
        std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
        const int rc = LLVMFuzzerTestOneInput(data.data(), data.size());
        if (rc != 0) {
            std::fprintf(stderr, "replay: %s: the target returned %d (refused the input)\n",
                         f.c_str(), rc);
            return false;
        }
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s CORPUS_DIR [CRASHES_DIR]\n", argv[0]);
        return 2;
    }
    std::error_code ec;
    if (!fs::is_directory(argv[1], ec)) {
        std::fprintf(stderr, "replay: the corpus directory %s does not exist\n", argv[1]);
        return 1;
    }
    const std::vector<fs::path> corpus = files_in(argv[1]);
    if (corpus.empty()) {
        std::fprintf(stderr, "replay: the corpus directory %s holds no file\n", argv[1]);
        return 1;
    }
    std::vector<fs::path> crashes;
    if (argc == 3 && fs::is_directory(argv[2], ec)) {
        crashes = files_in(argv[2]);
    }
    if (!replay(corpus) || !replay(crashes)) {
        return 1;
    }
    std::printf("replay: %zu seed(s) and %zu reproducer(s) ran clean\n", corpus.size(),
                crashes.size());
    return 0;
}
