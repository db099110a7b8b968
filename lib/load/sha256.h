#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

struct evp_md_ctx_st;
struct evp_md_st;

namespace offpeak {

using Sha256Digest = std::array<std::uint8_t, 32>;

// SHA-256 (OpenSSL), reusing one digest context: a loader hashes millions of short texts.
// OpenSSL failing throws std::runtime_error with its reason (std::bad_alloc only when memory
// ran out): nothing a caller can recover from, and a bug or a broken installation to report.
class Sha256 {
 public:
  // `algorithm` is OpenSSL's name for the digest; other names are for tests.
  explicit Sha256(const char* algorithm = "SHA256");
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // The digest of the concatenation of `parts`.
  [[nodiscard]] Sha256Digest digest(std::initializer_list<std::string_view> parts);

 private:
  evp_md_ctx_st* ctx_;
  evp_md_st* md_;
};

}  // namespace offpeak
