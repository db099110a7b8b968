// The reject file: bad lines written as JSON through stdio's buffer, which makes writing them
// cheap, and sync(), which makes a failed write show before the load commits rather than at
// fclose after it. fsync is skipped where a file cannot be synced (a pipe, a terminal).

#include "reject_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "ndjson_input.h"

namespace offpeak {

Result<RejectFile> RejectFile::create(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr)
    return Error{kExitIoErr,
                 fmt::format("--reject-file: cannot create {}: {}", path, std::strerror(errno))};
  return RejectFile(path, file);
}

RejectFile::RejectFile(RejectFile&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

RejectFile::~RejectFile() {
  if (file_ != nullptr) std::fclose(file_);
}

Error RejectFile::cannot_write() const {
  return {kExitIoErr, fmt::format("--reject-file: cannot write {}", path_)};
}

Result<void> RejectFile::write(std::string_view file, const InputLine& line,
                               std::string_view reason) {
  const std::string text = reject_json(file, line, reason);
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) return cannot_write();
  return {};
}

Result<void> RejectFile::sync() {
  if (std::fflush(file_) != 0 || std::ferror(file_)) return cannot_write();
  if (::fsync(fileno(file_)) != 0 && errno != EINVAL && errno != EROFS) return cannot_write();
  return {};
}

Result<void> RejectFile::close() {
  const bool failed = std::ferror(file_) != 0;
  const bool closed = std::fclose(std::exchange(file_, nullptr)) == 0;
  if (failed || !closed) return cannot_write();
  return {};
}

}  // namespace offpeak
