#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "error.h"
#include "tool_main.h"

namespace {

// What `body` writes to stderr (file descriptor 2), which is sent to a pipe meanwhile.
template <typename Body>
std::string stderr_of(Body&& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(fds[1], STDERR_FILENO);
  ::close(fds[1]);
  body();
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  return text;
}

}  // namespace

TEST_CASE("run_tool passes the body's exit code through") {
  CHECK(offpeak::run_tool("offpeak-x", [] { return 75; }) == 75);
}

TEST_CASE("an exception that escapes a tool's body is a bug: a message and exit 70") {
  int code = 0;
  const std::string err = stderr_of([&] {
    code = offpeak::run_tool("offpeak-x", []() -> int { throw std::runtime_error("boom"); });
  });
  CHECK(code == offpeak::kExitSoftware);
  CHECK(err == "offpeak-x: error: internal error: boom\n");

  const std::string other =
      stderr_of([&] { code = offpeak::run_tool("offpeak-x", []() -> int { throw 42; }); });
  CHECK(code == 70);
  CHECK(other == "offpeak-x: error: internal error: unknown exception\n");
}

TEST_CASE("worse ranks exit codes: what needs a person first, what a later run may pass last") {
  using namespace offpeak;
  const ExitCode order[] = {kExitConfig,      kExitUsage,   kExitSoftware,
                            kExitUnavailable, kExitDataErr, kExitIoErr,
                            kExitTempFail,    kExitNothing, kExitOk};
  for (std::size_t i = 0; i < std::size(order); ++i)
    for (std::size_t j = i; j < std::size(order); ++j) {
      CHECK(worse(order[i], order[j]) == order[i]);
      CHECK(worse(order[j], order[i]) == order[i]);
    }
}
