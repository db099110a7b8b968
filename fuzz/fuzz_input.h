#pragma once

// What the harnesses share: a reader that takes a few setup bytes off the front of a fuzz
// input (the rest is the text under test), and a check that aborts, so a broken invariant is
// a crash libFuzzer keeps, like a sanitizer report.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace offpeak::fuzz {

class FuzzInput {
 public:
  FuzzInput(const std::uint8_t* data, std::size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  // The next byte, or 0 when there is none left.
  [[nodiscard]] std::uint8_t byte() {
    if (rest_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }

  // One of `n` choices (n > 0), from the next byte.
  [[nodiscard]] std::size_t choice(std::size_t n) { return byte() % n; }

  // What is left.
  [[nodiscard]] std::string_view rest() const { return rest_; }

 private:
  std::string_view rest_;
};

// Aborts with `what` when `ok` is false.
inline void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace offpeak::fuzz
