// The reject file: bad lines written as JSON through stdio's buffer, which makes writing them
// cheap, and sync(), which makes a failed write show before the load commits rather than at
// fclose after it. fsync is skipped where a file cannot be synced (a pipe, a terminal). The
// file is opened as the state files are, without following a symlink: one planted in a shared
// directory cannot make the load truncate its target.

#include "reject_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "ndjson_input.h"

namespace offpeak {

Result<RejectFile> RejectFile::create(const std::string& path) {
  const auto cannot = [&](std::string_view why) {
    return Error{kExitIoErr, fmt::format("--reject-file: cannot create {}: {}", path, why)};
  };
  // O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging the load.
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return cannot(errno == ELOOP ? "it is a symlink" : std::strerror(errno));
  const int flags = ::fcntl(fd, F_GETFL);
  std::FILE* file = nullptr;
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
      (file = ::fdopen(fd, "w")) == nullptr) {
    const int error = errno;
    ::close(fd);
    return cannot(std::strerror(error));
  }
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
