// A temporary directory for the fuzz targets that read files: made once
// (under TMPDIR, which scripts/fuzz points at its own scratch directory),
// holding the given files with the given modes, removed when the process
// exits normally. Any failure to set it up aborts: the target cannot run.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace acmezone::fuzz {

class TempDir {
  public:
    struct File {
        std::string name;
        std::string_view content;
        ::mode_t mode = 0600;
    };

    explicit TempDir(const std::vector<File>& files) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "acmezone-fuzz-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            std::abort();
        }
        dir_ = pattern;
        for (const File& f : files) {
            write(f.name, f.content, f.mode);
        }
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    // (Re)writes `name` in the directory.
    void write(const std::string& name, std::string_view content, ::mode_t mode = 0600) const {
        const std::filesystem::path file = dir_ / name;
        {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            out.write(content.data(), static_cast<std::streamsize>(content.size()));
            if (!out) {
                std::abort();
            }
        }
        if (::chmod(file.c_str(), mode) != 0) {
            std::abort();
        }
    }

    const std::filesystem::path& path() const { return dir_; }

  private:
    std::filesystem::path dir_;
};

}  // namespace acmezone::fuzz
