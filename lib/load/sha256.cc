// SHA-256 through OpenSSL's EVP interface. The algorithm is fetched and the context allocated
// once; per text only init, update and final run, which keeps the cost near the hashing itself
// (OpenSSL's one-shot calls look the algorithm up again on every call).
//
// A failure is told apart by its cause: a context that cannot be allocated is std::bad_alloc;
// anything else (no such algorithm, a provider that fails) is std::runtime_error with the
// reason OpenSSL gives.

#include "sha256.h"

#include <new>
#include <stdexcept>
#include <string>

#include <openssl/err.h>
#include <openssl/evp.h>

namespace offpeak {
namespace {

[[noreturn]] void fail(const char* what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message = std::string("SHA-256: ") + what;
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    message += std::string(": ") + reason;
  }
  throw std::runtime_error(message);
}

}  // namespace

Sha256::Sha256(const char* algorithm)
    : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, algorithm, nullptr)) {
  if (ctx_ == nullptr) {
    EVP_MD_free(md_);
    throw std::bad_alloc();
  }
  if (md_ == nullptr) {
    EVP_MD_CTX_free(ctx_);
    fail((std::string("cannot fetch ") + algorithm).c_str());
  }
  if (EVP_MD_get_size(md_) != static_cast<int>(Sha256Digest().size())) {
    EVP_MD_free(md_);
    EVP_MD_CTX_free(ctx_);
    fail((std::string(algorithm) + " is not a 32-byte digest").c_str());
  }
}

Sha256::~Sha256() {
  EVP_MD_free(md_);
  EVP_MD_CTX_free(ctx_);
}

Sha256Digest Sha256::digest(std::initializer_list<std::string_view> parts) {
  Sha256Digest out{};
  unsigned int size = 0;
  if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1) fail("digest init failed");
  for (const std::string_view part : parts)
    if (EVP_DigestUpdate(ctx_, part.data(), part.size()) != 1) fail("digest update failed");
  if (EVP_DigestFinal_ex(ctx_, out.data(), &size) != 1) fail("digest final failed");
  return out;
}

}  // namespace offpeak
