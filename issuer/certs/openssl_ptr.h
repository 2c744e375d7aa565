// RAII holders for the OpenSSL objects the issuer uses.
//
// Every OpenSSL handle lives in a std::unique_ptr whose deleter is the
// matching *_free function, so that no error path leaks or double-frees.
// openssl_error() turns the thread's OpenSSL error queue into a message
// (and clears it); it never includes key material.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace acmezone::issuer {

template <auto Fn>
struct OpensslDeleter {
    template <typename T>
    void operator()(T* p) const noexcept {
        Fn(p);
    }
};

using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslDeleter<ECDSA_SIG_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpensslDeleter<X509_REQ_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter<X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter<X509_EXTENSION_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpensslDeleter<GENERAL_NAMES_free>>;

inline void x509_stack_free(STACK_OF(X509) * s) {
    sk_X509_pop_free(s, X509_free);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OpensslDeleter<x509_stack_free>>;

// "<what>: <first OpenSSL error reason>" and clears the error queue.
std::string openssl_error(const std::string& what);

class OpensslError : public std::runtime_error {
  public:
    explicit OpensslError(const std::string& what) : std::runtime_error(openssl_error(what)) {}
};

// A memory BIO reading `data` (the data must outlive the BIO).
BioPtr memory_bio(std::string_view data);
// Everything written to a memory BIO, as a string.
std::string bio_contents(BIO* bio);

}  // namespace acmezone::issuer
