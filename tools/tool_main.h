#pragma once

// What the tools' mains share: the help layout, how errors reach stderr, and TIME arguments.

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <date/date.h>
#include <CLI/CLI.hpp>

#include "diagnostics.h"
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

// Prints a usage error and where to read more; returns the exit code for it.
inline int report_usage_error(std::string_view tool, std::string_view message) {
  std::cerr << format_message(tool, Severity::kError, message) << '\n'
            << "Try '" << tool << " --help' for more information.\n";
  return kExitUsage;
}

// Prints an error; returns `code`.
inline int report_error(std::string_view tool, int code, std::string_view message) {
  std::cerr << format_message(tool, Severity::kError, message) << '\n';
  return code;
}

// Gives `app` the help layout, `footer` and a --version flag, as every tool has them.
inline void set_up_app(CLI::App& app, std::string_view tool, std::string footer) {
  app.formatter(std::make_shared<HelpFormatter>());
  app.footer(std::move(footer));
  app.set_version_flag("--version", std::string(tool) + " " + OFFPEAK_VERSION);
}

// Parses the command line: nothing when the tool should go on, else its exit code (0 after
// --help or --version, 64 after a usage error, which is reported).
inline std::optional<int> parse_args(CLI::App& app, std::string_view tool, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_usage_error(tool, e.what());
  }
  return std::nullopt;
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
