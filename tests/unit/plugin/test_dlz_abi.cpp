// plugin/dlz_abi.h declares BIND's DLZ ABI by hand, so that the module needs
// no BIND headers. This test holds those declarations to BIND's own values
// (bind9-dev's headers, read through bind_abi_values.c), so that a BIND
// upgrade that moves a value fails here, not inside a running named.
#include <gtest/gtest.h>

#include "plugin/dlz_abi.h"
#include "tests/unit/plugin/bind_abi_values.h"

namespace dlz = acmezone::plugin::dlz;

TEST(DlzAbi, VersionAndFlagsMatchBind) {
    EXPECT_EQ(bind_abi.dlz_version, dlz::kDlzVersion);
    EXPECT_EQ(bind_abi.flag_threadsafe, dlz::kFlagThreadSafe);
}

TEST(DlzAbi, ResultCodesMatchBind) {
    EXPECT_EQ(bind_abi.r_success, dlz::kSuccess);
    EXPECT_EQ(bind_abi.r_nomemory, dlz::kNoMemory);
    EXPECT_EQ(bind_abi.r_noperm, dlz::kNoPerm);
    EXPECT_EQ(bind_abi.r_nospace, dlz::kNoSpace);
    EXPECT_EQ(bind_abi.r_notfound, dlz::kNotFound);
    EXPECT_EQ(bind_abi.r_failure, dlz::kFailure);
    EXPECT_EQ(bind_abi.r_notimplemented, dlz::kNotImplemented);
    EXPECT_EQ(bind_abi.r_nomore, dlz::kNoMore);
    EXPECT_EQ(bind_abi.r_unexpected, dlz::kUnexpected);
    EXPECT_EQ(bind_abi.r_default, dlz::kDefault);
}

TEST(DlzAbi, LogLevelsMatchBind) {
    EXPECT_EQ(bind_abi.log_info, dlz::kLogInfo);
    EXPECT_EQ(bind_abi.log_notice, dlz::kLogNotice);
    EXPECT_EQ(bind_abi.log_warning, dlz::kLogWarning);
    EXPECT_EQ(bind_abi.log_error, dlz::kLogError);
    EXPECT_EQ(bind_abi.log_debug1, dlz::kLogDebug1);
}
