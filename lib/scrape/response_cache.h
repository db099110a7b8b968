#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "error.h"
#include "fetch.h"

namespace offpeak {

// What the cache keeps of a request's last good response: its validators, and what a 304 does
// not resend.
struct CachedResponse {
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string link;
  std::string body;
};

// --cache-dir: one file per request (named for the SHA-256 of its method, URL and body), so a
// request is sent conditionally (If-None-Match, If-Modified-Since) and a 304 is answered from
// the file. The directory is private (0700), its files 0600, written atomically, never
// followed through a symlink, and bounded: opening it removes the least recently used files
// past kMaxCacheBytes or kMaxCacheFiles.
class ResponseCache {
 public:
  static constexpr std::uint64_t kMaxCacheBytes = std::uint64_t{1} << 30;
  static constexpr std::size_t kMaxCacheFiles = 10000;
  static constexpr std::uint64_t kMaxEntryBytes = std::uint64_t{64} << 20;  // larger: not kept

  // Opens `dir`, creating it 0700 when missing. An Error (74) when it is a symlink or not a
  // directory, not the user's own, or open to others (group or world permissions).
  [[nodiscard]] static Result<ResponseCache> open(const std::string& dir);

  // The entry for `request`, or nothing (none, or one that does not read back whole).
  [[nodiscard]] std::optional<CachedResponse> get(const HttpRequest& request) const;

  // Keeps `response` for `request` when it has a validator (ETag or Last-Modified); an Error
  // (74) when it cannot be written.
  [[nodiscard]] Result<void> put(const HttpRequest& request, const HttpResponse& response) const;

  // The request's file, inside the directory.
  [[nodiscard]] std::string path_of(const HttpRequest& request) const;

 private:
  explicit ResponseCache(std::string dir) : dir_(std::move(dir)) {}
  void prune() const;

  std::string dir_;
};

// `request` with the conditional headers of `cached`.
void add_conditions(HttpRequest& request, const CachedResponse& cached);

}  // namespace offpeak
