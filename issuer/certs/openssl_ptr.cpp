// See openssl_ptr.h: the OpenSSL error queue as a message, memory BIOs.
#include "issuer/certs/openssl_ptr.h"

#include <openssl/err.h>

namespace acmezone::issuer {

std::string openssl_error(const std::string& what) {
    unsigned long code = ERR_get_error();
    std::string message = what;
    if (code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        message += ": ";
        message += buf;
    }
    ERR_clear_error();
    return message;
}

BioPtr memory_bio(std::string_view data) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) {
        throw OpensslError("BIO_new_mem_buf");
    }
    return bio;
}

std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

}  // namespace acmezone::issuer
