// Replacing a file whole: readers (node_exporter's textfile collector, the next tick of
// offpeak-cron) see the old content or the new, never part of either, and a crash leaves one
// of the two. Only a regular file is ever replaced: a device, FIFO, directory or symlink
// planted at the path stays as it is, so a path in a shared directory cannot turn root's
// write into damage elsewhere.

#include "atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace offpeak {

Result<void> write_atomically(const std::string& path, std::string_view text, unsigned mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return Error{kExitIoErr, fmt::format("will not replace {}: not a regular file", path)};
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  // The collector reads only *.prom files, and skips names starting with a dot anyway.
  const std::string pattern = dir + "." + base + ".XXXXXX";
  std::string temp = pattern;
  const int fd = ::mkstemp(temp.data());
  if (fd < 0)
    return Error{kExitIoErr, fmt::format("cannot create {}: {}", pattern, std::strerror(errno))};
  const auto fail = [&](std::string_view what) {
    Error error{kExitIoErr, fmt::format("cannot {} {}: {}", what, temp, std::strerror(errno))};
    ::close(fd);
    ::unlink(temp.c_str());
    return error;
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("set the mode of");
  for (std::string_view rest = text; !rest.empty();) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write");
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(fd) != 0) return fail("sync");
  if (::close(fd) != 0) {
    Error error{kExitIoErr, fmt::format("cannot write {}: {}", temp, std::strerror(errno))};
    ::unlink(temp.c_str());
    return error;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Error error{kExitIoErr,
                fmt::format("cannot rename {} to {}: {}", temp, path, std::strerror(errno))};
    ::unlink(temp.c_str());
    return error;
  }
  // The rename lasts once the directory is on disk too.
  const std::string dir_name = dir.empty() ? "." : dir;
  const int dir_fd = ::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    Error error{kExitIoErr,
                fmt::format("cannot sync directory {}: {}", dir_name, std::strerror(errno))};
    if (dir_fd >= 0) ::close(dir_fd);
    return error;
  }
  ::close(dir_fd);
  return {};
}

}  // namespace offpeak
