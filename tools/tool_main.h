#pragma once

// What the tools' mains share: the help layout, how errors reach stderr, and TIME arguments.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <date/date.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "console.h"
#include "diagnostics.h"
#include "log.h"
#include "timestamp.h"

namespace offpeak {

// Help that shows each option's argument, not CLI11's list of which flags need or exclude
// which: each tool explains how its options combine once, in its footer.
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* option) const override {
    const std::string& type = option->get_type_name();
    return type.empty() ? "" : " " + type;
  }
};

// Where a tool's messages go: stderr, one line each, as people read them (text) or as JSON
// objects (--log-format json), in which form everything on stderr is a JSON object.
// Writes `text` and a newline to stderr in one write(2): lines of tools that share a
// stderr, as offpeak-cron's parallel regions do, then never break into each other.
inline void write_stderr_line(std::string text) {
  text += '\n';
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

class Log {
 public:
  Log(std::string_view tool, LogFormat format) : tool_(tool), format_(format) {}

  [[nodiscard]] LogFormat format() const { return format_; }

  // An event: logfmt or JSON.
  void write(const LogLine& line) const {
    write_stderr_line(format_ == LogFormat::kJson
                          ? line.json(tool_, std::chrono::system_clock::now())
                          : line.text(tool_));
  }

  // "TOOL: error: FILE:LINE:COL: ...", or its fields as JSON.
  void diagnostic(const Diagnostic& d) const {
    if (format_ == LogFormat::kJson) return write(diagnostic_log(d));
    write_stderr_line(format_diagnostic(tool_, d));
  }

  // "TOOL: MESSAGE" or "TOOL: warning: MESSAGE", or {"level":...,"msg":MESSAGE}.
  void message(LogLevel level, std::string_view message) const {
    if (format_ == LogFormat::kJson) return write(LogLine(level).add("msg", message));
    write_stderr_line(
        level == LogLevel::kInfo
            ? fmt::format("{}: {}", tool_, message)
            : format_message(tool_,
                             level == LogLevel::kWarning ? Severity::kWarning : Severity::kError,
                             message));
  }

  // "TOOL: error: MESSAGE", or {"level":"error","exit":CODE,"msg":MESSAGE}; returns `code`.
  int error(int code, std::string_view message) const {
    if (format_ == LogFormat::kJson) {
      write(LogLine(LogLevel::kError).add("exit", code).add("msg", message));
    } else {
      write_stderr_line(format_message(tool_, Severity::kError, message));
    }
    return code;
  }

  // An error of the library's: its message, as error() writes it; returns its exit code.
  int error(const Error& e) const { return error(e.exit, e.message); }

  // An error that ends a run: a usage error (with where to read more) when its code is 64,
  // else as error() writes it; returns its exit code.
  int fail(const Error& e) const {
    return e.exit == kExitUsage ? usage_error(e.message) : error(e);
  }

  // A usage error and where to read more; returns the exit code for it.
  int usage_error(std::string_view message) const {
    if (format_ == LogFormat::kJson) return error(kExitUsage, message);
    std::cerr << format_message(tool_, Severity::kError, message) << '\n'
              << "Try '" << tool_ << " --help' for more information.\n";
    return kExitUsage;
  }

 private:
  std::string_view tool_;
  LogFormat format_;
};

// The console a run of the library reports through: `log`'s lines and errors on stderr, the
// progress line, std::getenv, and `write` for stdout.
inline Console console_on(const Log& log, ProgressLine* progress,
                          std::function<Result<void>(std::string_view)> write) {
  Console console;
  console.write = std::move(write);
  console.log = [&log](const LogLine& line) { log.write(line); };
  console.diagnostic = [&log](const Diagnostic& d) { log.diagnostic(d); };
  console.error = [&log](const Error& e) { log.fail(e); };
  console.progress = progress;
  console.env = [](const char* name) { return std::getenv(name); };
  return console;
}

// Prints a usage error and where to read more; returns the exit code for it.
inline int report_usage_error(std::string_view tool, std::string_view message,
                              LogFormat format = LogFormat::kText) {
  return Log(tool, format).usage_error(message);
}

// The --log-format the command line asks for, looked at before it is parsed, so that even
// its usage errors come in that form; text when it names none or an invalid one.
inline LogFormat log_format_in_args(int argc, char** argv) {
  LogFormat format = LogFormat::kText;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    std::optional<LogFormat> named;
    if (arg == "--log-format" && i + 1 < argc) named = parse_log_format(argv[i + 1]);
    if (arg.starts_with("--log-format=")) named = parse_log_format(arg.substr(13));
    if (named) format = *named;
  }
  return format;
}

// Adds --log-format text|json; an invalid value is a usage error.
inline void add_log_format_option(CLI::App& app, std::string& value) {
  app.add_option("--log-format", value, "Messages on stderr as text (default) or json")
      ->type_name("text|json")
      ->check(CLI::IsMember({"text", "json"}).description(""));
}

// --log-format and --metrics-file, as the tools that run a night's work have them; `what`
// names the run in the help ("run", "load").
inline void add_log_and_metrics_options(CLI::App& app, std::string& log_format,
                                        std::string& metrics_file, std::string_view what) {
  add_log_format_option(app, log_format);
  app.add_option("--metrics-file", metrics_file,
                 "Write Prometheus metrics here at the end of the " + std::string(what))
      ->type_name("FILE");
}

// Gives `app` the help layout, `footer` and a --version flag, as every tool has them.
inline void set_up_app(CLI::App& app, std::string_view tool, std::string footer) {
  app.formatter(std::make_shared<HelpFormatter>());
  app.footer(std::move(footer));
  app.set_version_flag("--version", std::string(tool) + " " + OFFPEAK_VERSION);
}

// Parses the command line: nothing when the tool should go on, else its exit code (0 after
// --help or --version, 64 after a usage error, which is reported).
inline std::optional<int> parse_args(CLI::App& app, std::string_view tool, int argc, char** argv,
                                     LogFormat format = LogFormat::kText) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_usage_error(tool, e.what(), format);
  }
  return std::nullopt;
}

// Runs a tool's body and returns its exit code. An exception that reaches here is a bug: it
// is reported with its message and the tool exits 70 (EX_SOFTWARE) instead of aborting.
template <typename Body>
int run_tool(std::string_view tool, Body&& body) noexcept {
  try {
    try {
      return body();
    } catch (const std::exception& e) {
      write_stderr_line(
          format_message(tool, Severity::kError, fmt::format("internal error: {}", e.what())));
    } catch (...) {
      write_stderr_line(
          format_message(tool, Severity::kError, "internal error: unknown exception"));
    }
  } catch (...) {  // reporting it failed too (out of memory)
  }
  return kExitSoftware;
}

// A TIME argument: RFC 3339 or "now", in the years 1900 to 8999 (whose instants print as
// RFC 3339). Nothing when the text is neither.
inline std::optional<Instant> parse_time_arg(const std::string& text) {
  const auto t = text == "now"
                     ? std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())
                     : parse_rfc3339(text);
  const auto earliest = date::sys_days{date::year{1900} / 1 / 1};
  const auto latest = date::sys_days{date::year{9000} / 1 / 1};
  if (!t || *t < earliest || *t >= latest) return std::nullopt;
  return t;
}

}  // namespace offpeak
