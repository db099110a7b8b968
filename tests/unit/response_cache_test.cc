#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "response_cache.h"
#include "temp_dir.h"

using offpeak::HttpRequest;
using offpeak::HttpResponse;
using offpeak::ResponseCache;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

HttpRequest request(std::string url, std::string body = "") {
  HttpRequest r;
  r.url = std::move(url);
  r.post = !body.empty();
  r.body = std::move(body);
  return r;
}

// The name of an entry file: 64 hex digits.
std::string fmt_name(std::size_t i) {
  const std::string n = std::to_string(i);
  return std::string(64 - n.size(), '0') + n;
}

HttpResponse response(std::string etag, std::string body) {
  HttpResponse r;
  r.status = 200;
  r.etag = std::move(etag);
  r.content_type = "application/json";
  r.link = "</p?page=2>; rel=\"next\"";
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("the response cache keeps a response per method, URL and body, privately") {
  TempDir tmp;
  const std::string dir = (tmp / "cache").string();
  auto cache = ResponseCache::open(dir);
  REQUIRE(cache);
  CHECK(mode_of(dir) == 0700);

  const auto get = request("http://a.example/p?k=s3cr3t");
  const auto post = request("http://a.example/p?k=s3cr3t", R"({"page":1})");
  auto answered = response("\"v1\"", "{\"a\":1}\n\nsecond line");
  answered.effective_url = get.url;
  REQUIRE(cache->put(get, answered));
  CHECK_FALSE(cache->get(post));
  REQUIRE(cache->put(post, response("\"v2\"", "{}")));

  const auto kept = cache->get(get);
  REQUIRE(kept);
  CHECK(kept->etag == "\"v1\"");
  CHECK(kept->content_type == "application/json");
  CHECK(kept->link == "</p?page=2>; rel=\"next\"");
  CHECK(kept->body == "{\"a\":1}\n\nsecond line");
  CHECK(cache->get(post)->etag == "\"v2\"");
  CHECK(mode_of(cache->path_of(get)) == 0600);
  // The file's name is a digest: the URL's key is written nowhere.
  const std::string name = std::filesystem::path(cache->path_of(get)).filename();
  CHECK(name.size() == 64);
  std::ifstream in(cache->path_of(get));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("s3cr3t") == std::string::npos);
}

TEST_CASE("the response cache keeps nothing without a validator") {
  TempDir tmp;
  auto cache = ResponseCache::open((tmp / "cache").string());
  REQUIRE(cache);
  const auto get = request("http://a.example/p");
  REQUIRE(cache->put(get, response("", "{}")));
  CHECK_FALSE(std::filesystem::exists(cache->path_of(get)));
  auto dated = response("", "{}");
  dated.last_modified = "Fri, 06 Mar 2026 21:00:00 GMT";
  REQUIRE(cache->put(get, dated));
  CHECK(cache->get(get)->last_modified == "Fri, 06 Mar 2026 21:00:00 GMT");
}

TEST_CASE("the response cache refuses a directory that is a symlink or open to others") {
  TempDir tmp;
  std::filesystem::create_directory(tmp / "real");
  ::chmod((tmp / "real").c_str(), 0700);
  std::filesystem::create_directory_symlink(tmp / "real", tmp / "link");
  const auto linked = ResponseCache::open((tmp / "link").string());
  REQUIRE_FALSE(linked);
  CHECK(linked.error().exit == offpeak::kExitIoErr);
  CHECK(linked.error().message == "cache directory " + (tmp / "link").string() +
                                      ": is a symbolic link; give the directory it points to");

  std::filesystem::create_directory(tmp / "open");
  ::chmod((tmp / "open").c_str(), 0755);
  const auto open = ResponseCache::open((tmp / "open").string());
  REQUIRE_FALSE(open);
  CHECK(open.error().message == "cache directory " + (tmp / "open").string() +
                                    ": open to other users (mode 0755); chmod 700 it");
  CHECK(ResponseCache::open((tmp / "real").string()));
}

TEST_CASE("the response cache never reads or writes an entry through a symlink") {
  TempDir tmp;
  auto cache = ResponseCache::open((tmp / "cache").string());
  REQUIRE(cache);
  const auto get = request("http://a.example/p");
  {
    std::ofstream target(tmp / "target");
    target << "offpeak-cache 1\netag \"x\"\n\nplanted";
  }
  std::filesystem::create_symlink(tmp / "target", cache->path_of(get));
  CHECK_FALSE(cache->get(get));
  CHECK_FALSE(cache->put(get, response("\"v1\"", "{}")));
  std::ifstream in(tmp / "target");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.ends_with("planted"));
}

TEST_CASE("opening the response cache removes the least recently used entries past its bound") {
  TempDir tmp;
  const std::string dir = (tmp / "cache").string();
  auto cache = ResponseCache::open(dir);
  REQUIRE(cache);
  const std::size_t extra = 3;
  for (std::size_t i = 0; i < ResponseCache::kMaxCacheFiles + extra; ++i) {
    std::ofstream((tmp / "cache" / fmt_name(i)).string()) << "x";
  }
  // Entries 0, 1 and 2 are the oldest.
  for (std::size_t i = 0; i < extra; ++i) {
    const std::string path = dir + "/" + fmt_name(i);
    const struct timespec old[2] = {{1, 0}, {1, 0}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), old, 0) == 0);
  }
  REQUIRE(ResponseCache::open(dir));
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++left;
  CHECK(left == ResponseCache::kMaxCacheFiles);
  for (std::size_t i = 0; i < extra; ++i)
    CHECK_FALSE(std::filesystem::exists(dir + "/" + fmt_name(i)));
  CHECK(std::filesystem::exists(dir + "/" + fmt_name(extra)));
}
