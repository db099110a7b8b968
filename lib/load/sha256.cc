// SHA-256 through OpenSSL's EVP interface. The algorithm is fetched and the context allocated
// once; per text only init, update and final run, which keeps the cost near the hashing itself
// (OpenSSL's one-shot calls look the algorithm up again on every call).

#include "sha256.h"

#include <new>

#include <openssl/evp.h>

namespace offpeak {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()), md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
  if (ctx_ == nullptr || md_ == nullptr) throw std::bad_alloc();
}

Sha256::~Sha256() {
  EVP_MD_free(md_);
  EVP_MD_CTX_free(ctx_);
}

Sha256Digest Sha256::digest(std::initializer_list<std::string_view> parts) {
  Sha256Digest out{};
  unsigned int size = 0;
  // With a fetched SHA-256 these calls fail only when memory runs out.
  if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1) throw std::bad_alloc();
  for (const std::string_view part : parts)
    if (EVP_DigestUpdate(ctx_, part.data(), part.size()) != 1) throw std::bad_alloc();
  if (EVP_DigestFinal_ex(ctx_, out.data(), &size) != 1) throw std::bad_alloc();
  return out;
}

}  // namespace offpeak
