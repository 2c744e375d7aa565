/* Filled in by bind_abi_values.c from BIND's headers. */
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct bind_abi_values {
    int dlz_version;
    unsigned int flag_threadsafe;
    unsigned int r_success, r_nomemory, r_noperm, r_nospace, r_notfound, r_failure,
        r_notimplemented, r_nomore, r_unexpected, r_default;
    int log_info, log_notice, log_warning, log_error, log_debug1;
};

extern const struct bind_abi_values bind_abi;

#ifdef __cplusplus
}
#endif
