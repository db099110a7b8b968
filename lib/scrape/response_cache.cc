// The conditional-request cache of --cache-dir: a request's last good response, by request.
//
// The idea: a file per request, named for the SHA-256 of the request's method, URL and body
// (which may carry secrets, so they are never written out), holding the response's
// validators and what a 304 leaves out: the body, its Content-Type, and the Link header that
// paging reads. A file is replaced whole (atomic_file), so a crash leaves the
// old entry or the new one, and read with O_NOFOLLOW. The directory is the user's alone; the
// files use at most kMaxCacheBytes, the least recently used removed first when it opens.

#include "response_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "atomic_file.h"

namespace offpeak {
namespace {

constexpr std::string_view kMagic = "offpeak-cache 1\n";

bool is_entry_name(std::string_view name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// The value of header line `name` in `head` ("name value\n" lines).
std::string field(std::string_view head, std::string_view name) {
  for (std::size_t at = 0; at < head.size();) {
    const auto end = std::min(head.find('\n', at), head.size());
    const auto line = head.substr(at, end - at);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ')
      return std::string(line.substr(name.size() + 1));
    at = end + 1;
  }
  return "";
}

bool one_line(std::string_view text) { return text.find_first_of("\r\n") == std::string::npos; }

}  // namespace

Result<ResponseCache> ResponseCache::open(const std::string& dir) {
  const auto refuse = [&](std::string_view why) {
    return Error{kExitIoErr, fmt::format("cache directory {}: {}", dir, why)};
  };
  if (dir.empty()) return refuse("an empty path");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return refuse(fmt::format("cannot create it: {}", std::strerror(errno)));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return refuse(std::strerror(errno));
  if (S_ISLNK(st.st_mode)) return refuse("is a symbolic link; give the directory it points to");
  if (!S_ISDIR(st.st_mode)) return refuse("not a directory");
  if (st.st_uid != ::geteuid()) return refuse("not owned by the user running offpeak-scrape");
  if ((st.st_mode & 077) != 0)
    return refuse(
        fmt::format("open to other users (mode {:04o}); chmod 700 it", st.st_mode & 07777));
  ResponseCache cache(dir);
  cache.prune();
  return cache;
}

std::string ResponseCache::path_of(const HttpRequest& request) const {
  return dir_ + "/" + sha256_hex(request_key(request));
}

std::optional<CachedResponse> ResponseCache::get(const HttpRequest& request) const {
  const std::string path = path_of(request);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uint64_t>(st.st_size) <= kMaxEntryBytes + 65536) {
    text.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < text.size()) {
      const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    text.resize(got == text.size() ? got : 0);
    ::futimens(fd, nullptr);  // used now: the last to be pruned
  }
  ::close(fd);
  const auto blank = text.find("\n\n");
  if (!text.starts_with(kMagic) || blank == std::string::npos) return std::nullopt;
  const std::string_view head = std::string_view(text).substr(0, blank + 1);
  CachedResponse cached;
  cached.etag = field(head, "etag");
  cached.last_modified = field(head, "last-modified");
  cached.content_type = field(head, "content-type");
  cached.link = field(head, "link");
  if (cached.etag.empty() && cached.last_modified.empty()) return std::nullopt;
  cached.body = text.substr(blank + 2);
  return cached;
}

Result<void> ResponseCache::put(const HttpRequest& request, const HttpResponse& response) const {
  if (response.etag.empty() && response.last_modified.empty()) return {};
  if (response.body.size() > kMaxEntryBytes) return {};
  const std::string_view fields[][2] = {{"etag", response.etag},
                                        {"last-modified", response.last_modified},
                                        {"content-type", response.content_type},
                                        {"link", response.link}};
  std::string text(kMagic);
  for (const auto& [name, value] : fields) {
    if (value.empty() || !one_line(value)) continue;
    text += fmt::format("{} {}\n", name, value);
  }
  text += '\n';
  text += response.body;
  return write_atomically(path_of(request), text, 0600);
}

// Removes the least recently used entries past the limits.
void ResponseCache::prune() const {
  struct Entry {
    std::string path;
    std::uint64_t bytes;
    struct timespec used;
  };
  std::vector<Entry> entries;
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return;
  std::uint64_t total = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    struct stat st {};
    const std::string path = dir_ + "/" + std::string(name);
    if (!is_entry_name(name) || ::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    entries.push_back({path, static_cast<std::uint64_t>(st.st_size), st.st_mtim});
    total += static_cast<std::uint64_t>(st.st_size);
  }
  ::closedir(d);
  if (total <= kMaxCacheBytes && entries.size() <= kMaxCacheFiles) return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec
                                          : a.used.tv_nsec < b.used.tv_nsec;
  });
  std::size_t left = entries.size();
  for (const Entry& entry : entries) {
    if (total <= kMaxCacheBytes && left <= kMaxCacheFiles) break;
    if (::unlink(entry.path.c_str()) == 0) {
      total -= entry.bytes;
      --left;
    }
  }
}

void add_conditions(HttpRequest& request, const CachedResponse& cached) {
  if (!cached.etag.empty()) request.headers.push_back("If-None-Match: " + cached.etag);
  if (!cached.last_modified.empty())
    request.headers.push_back("If-Modified-Since: " + cached.last_modified);
}

}  // namespace offpeak
