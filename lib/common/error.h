// The one shape of failure in the library: an Error carries the exit code a tool should end
// with and the message a person reads, and Result<T> is a value or an Error. Library code
// returns them; only a tool's main prints the message and exits with the code.
//
// When several things fail in one run, the run ends with the worst of their codes, ranked
// once here (offpeak-cron ranks its regions' codes in the same order): what needs a person
// before anything can work comes first, what the next run may well get past comes last.
//   78 config, 64 usage, 70 software, 69 unavailable, 65 bad data, 74 I/O, 75 temporary,
//   then 1 (nothing to do) and 0.

#pragma once

#include <string>
#include <utility>
#include <variant>

namespace offpeak {

// Exit codes of every offpeak tool, after sysexits(3).
enum ExitCode : int {
  kExitOk = 0,
  kExitNothing = 1,       // ran fine, nothing to report (plan: no region off-peak)
  kExitUsage = 64,        // EX_USAGE: bad flags or arguments
  kExitDataErr = 65,      // EX_DATAERR: bad input data
  kExitUnavailable = 69,  // EX_UNAVAILABLE: a service said no for good
  kExitSoftware = 70,     // EX_SOFTWARE: a bug: an exception nothing else caught
  kExitIoErr = 74,        // EX_IOERR: cannot read or write a file, or the output
  kExitTempFail = 75,     // EX_TEMPFAIL: try again later
  kExitConfig = 78,       // EX_CONFIG: configuration error
};

struct [[nodiscard]] Error {
  ExitCode exit = kExitSoftware;
  std::string message;
};

// A T, or the Error that kept it from being made. Result<void> is success or an Error.
template <typename T = void>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() : ok_(true) {}
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }

  const Error& error() const& { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool ok_ = false;
};

// The worse of two exit codes, in the order above.
[[nodiscard]] ExitCode worse(ExitCode a, ExitCode b);

}  // namespace offpeak
