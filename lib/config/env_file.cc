// Environment files as systemd reads them (src/basic/env-file.c): one pass over the text
// with a small state machine, so that a value such as
// postgresql://h/db?sslmode=require&application_name=offpeak, which a shell would cut at the
// '&', means the same to offpeak-plan --check --env-file, to offpeak-cron --env-file and to
// the service's EnvironmentFile=. tests/cron/run.py feeds systemd's own parser and
// offpeak-cron the same file; tests/unit/env_file_test.cc holds this reader to the same cases.

#include "env_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace offpeak {
namespace {

enum class State {
  kPreKey,
  kKey,
  kPreValue,
  kValue,
  kValueEscape,
  kSingleQuote,
  kDoubleQuote,
  kDoubleQuoteEscape,
  kComment,
  kCommentEscape
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_name(std::string_view key) {
  if (key.empty() || (key[0] >= '0' && key[0] <= '9')) return false;
  for (const char c : key)
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return false;
  return true;
}

// The parser's state between characters: the key and value so far, and where trailing
// spaces of a bare value begin (npos when the last character was not a space).
struct Parser {
  EnvFile& out;
  const std::string& path;
  std::string key, value;
  size_t value_spaces = std::string::npos;
  int key_line = 0;

  void push() {
    while (!key.empty() && is_space(key.back())) key.pop_back();
    if (is_name(key))
      out.values[key] = value;
    else
      out.warnings.push_back({Severity::kWarning,
                              {path, key_line, 0},
                              "",
                              "",
                              fmt::format("\"{}\" is no variable name: ignored", key)});
    key.clear();
    value.clear();
    value_spaces = std::string::npos;
  }
  void end_bare_value() {
    if (value_spaces != std::string::npos) value.resize(value_spaces);
    push();
  }
};

}  // namespace

EnvFile parse_env_file(std::string_view text, const std::string& path) {
  EnvFile file;
  Parser p{file, path, {}, {}, std::string::npos, 0};
  State state = State::kPreKey;
  int line = 1;
  for (const char c : text) {
    const bool newline = c == '\n';
    switch (state) {
      case State::kPreKey:
        if (c == '#' || c == ';')
          state = State::kComment;
        else if (!is_space(c)) {
          state = State::kKey;
          p.key = c;
          p.key_line = line;
        }
        break;
      case State::kKey:
        if (newline) {
          state = State::kPreKey;  // a line without '=' sets nothing
          p.key.clear();
        } else if (c == '=') {
          state = State::kPreValue;
        } else {
          p.key += c;
        }
        break;
      case State::kPreValue:
        if (newline) {
          state = State::kPreKey;
          p.push();
        } else if (c == '\'') {
          state = State::kSingleQuote;
        } else if (c == '"') {
          state = State::kDoubleQuote;
        } else if (c == '\\') {
          state = State::kValueEscape;
        } else if (!is_space(c)) {
          state = State::kValue;
          p.value += c;
        }
        break;
      case State::kValue:
        if (newline) {
          state = State::kPreKey;
          p.end_bare_value();
        } else if (c == '\\') {
          state = State::kValueEscape;
          p.value_spaces = std::string::npos;
        } else {
          if (!is_space(c))
            p.value_spaces = std::string::npos;
          else if (p.value_spaces == std::string::npos)
            p.value_spaces = p.value.size();
          p.value += c;
        }
        break;
      case State::kValueEscape:
        state = State::kValue;
        if (!newline) p.value += c;
        break;
      case State::kSingleQuote:
        if (c == '\'')
          state = State::kPreValue;
        else
          p.value += c;
        break;
      case State::kDoubleQuote:
        if (c == '"')
          state = State::kPreValue;
        else if (c == '\\')
          state = State::kDoubleQuoteEscape;
        else
          p.value += c;
        break;
      case State::kDoubleQuoteEscape:
        state = State::kDoubleQuote;
        if (std::strchr("\"\\`$", c) && c != '\0')
          p.value += c;
        else if (!newline) {
          p.value += '\\';
          p.value += c;
        }
        break;
      case State::kComment:
        if (c == '\\')
          state = State::kCommentEscape;
        else if (newline)
          state = State::kPreKey;
        break;
      case State::kCommentEscape:
        state = State::kComment;
        break;
    }
    if (newline) ++line;
  }
  // The end of the text ends the last line.
  if (state == State::kValue)
    p.end_bare_value();
  else if (state != State::kPreKey && state != State::kKey && state != State::kComment &&
           state != State::kCommentEscape)
    p.push();
  return file;
}

Result<EnvFile> read_env_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad())
    return Error{kExitConfig,
                 fmt::format("--env-file: cannot read {}: {}", path, std::strerror(errno))};
  return parse_env_file(text.str(), path);
}

}  // namespace offpeak
