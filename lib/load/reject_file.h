#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "error.h"

namespace offpeak {

struct InputLine;

// --reject-file: the bad lines of a load, one JSON object each (reject_json). Written through
// a buffer, and made durable by sync() before the load commits: a write that fails (a full
// disk) then fails the load, instead of losing the rejects of a load that says it kept them.
class RejectFile {
 public:
  // Creates or truncates `path`, never through a symlink; 74 when it cannot.
  [[nodiscard]] static Result<RejectFile> create(const std::string& path);
  RejectFile(RejectFile&& other) noexcept;
  RejectFile& operator=(RejectFile&&) = delete;
  ~RejectFile();

  [[nodiscard]] Result<void> write(std::string_view file, const InputLine& line,
                                   std::string_view reason);
  // Flushes the buffer and fsyncs the file: every line written is on disk.
  [[nodiscard]] Result<void> sync();
  // Closes the file; an error if anything written since sync() is lost.
  [[nodiscard]] Result<void> close();

 private:
  RejectFile(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  [[nodiscard]] Error cannot_write() const;

  std::string path_;
  std::FILE* file_;
};

}  // namespace offpeak
