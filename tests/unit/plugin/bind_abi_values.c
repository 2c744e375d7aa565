/* BIND's own values for the parts of the DLZ ABI that plugin/dlz_abi.h
 * declares by hand. Compiled as C against bind9-dev's headers (they do not
 * compile as C++), read by test_dlz_abi.cpp. */
#include <dns/dlz_dlopen.h>
#include <dns/sdlz.h>
#include <isc/log.h>
#include <isc/result.h>

#include "bind_abi_values.h"

const struct bind_abi_values bind_abi = {
    .dlz_version = DLZ_DLOPEN_VERSION,
    .flag_threadsafe = DNS_SDLZFLAG_THREADSAFE,
    .r_success = ISC_R_SUCCESS,
    .r_nomemory = ISC_R_NOMEMORY,
    .r_noperm = ISC_R_NOPERM,
    .r_nospace = ISC_R_NOSPACE,
    .r_notfound = ISC_R_NOTFOUND,
    .r_failure = ISC_R_FAILURE,
    .r_notimplemented = ISC_R_NOTIMPLEMENTED,
    .r_nomore = ISC_R_NOMORE,
    .r_unexpected = ISC_R_UNEXPECTED,
    .r_default = ISC_R_DEFAULT,
    .log_info = ISC_LOG_INFO,
    .log_notice = ISC_LOG_NOTICE,
    .log_warning = ISC_LOG_WARNING,
    .log_error = ISC_LOG_ERROR,
    .log_debug1 = ISC_LOG_DEBUG(1),
};
