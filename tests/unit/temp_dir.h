// A directory of a test's own under $TMPDIR (else /tmp), removed with all it
// holds when the test ends, and a scope that sets the umask.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace acmezone::test_support {

class TempDir {
  public:
    // `tag` names the directory (acmezone-TAG-XXXXXX), to tell tests' apart.
    explicit TempDir(std::string_view tag = "test") {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / ("acmezone-" + std::string(tag) + "-XXXXXX"))
                .string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
        }
        path_ = tmpl;
    }
    ~TempDir() {
        // A test may have taken the owner's rights away from the directory.
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// Sets the umask for one scope.
struct UmaskScope {
    explicit UmaskScope(mode_t m) : old(::umask(m)) {}
    ~UmaskScope() { ::umask(old); }
    UmaskScope(const UmaskScope&) = delete;
    UmaskScope& operator=(const UmaskScope&) = delete;
    mode_t old;
};

}  // namespace acmezone::test_support
