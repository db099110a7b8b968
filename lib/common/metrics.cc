// Prometheus metrics files for node_exporter's textfile collector. The idea: the file is
// replaced whole by rename, so the collector never reads half of one, and the one figure a
// failed run cannot know afresh, when the last success was, is read back from the file it
// replaces.

#include "metrics.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace offpeak {
namespace {

std::string value_text(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers as integers; others in the shortest form that reads back the same.
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<long long>(value));
  return fmt::format("{}", value);
}

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// One sample line, or nothing when it is not one.
std::optional<Sample> parse_sample(std::string_view line) {
  Sample s;
  std::size_t at = 0;
  while (at < line.size() && name_char(line[at], at == 0)) ++at;
  if (at == 0) return std::nullopt;
  s.name = line.substr(0, at);
  if (at < line.size() && line[at] == '{') {
    ++at;
    while (true) {
      while (at < line.size() && line[at] == ' ') ++at;
      if (at < line.size() && line[at] == '}') {
        ++at;
        break;
      }
      const std::size_t start = at;
      while (at < line.size() && name_char(line[at], at == start)) ++at;
      if (at == start || at + 1 >= line.size() || line[at] != '=' || line[at + 1] != '"')
        return std::nullopt;
      std::string label(line.substr(start, at - start)), value;
      at += 2;
      while (at < line.size() && line[at] != '"') {
        if (line[at] == '\\' && at + 1 < line.size()) {
          ++at;
          value += line[at] == 'n' ? '\n' : line[at];
        } else {
          value += line[at];
        }
        ++at;
      }
      if (at >= line.size()) return std::nullopt;
      ++at;
      s.labels.emplace_back(std::move(label), std::move(value));
      while (at < line.size() && line[at] == ' ') ++at;
      if (at < line.size() && line[at] == ',') ++at;
    }
  }
  if (at >= line.size() || line[at] != ' ') return std::nullopt;
  while (at < line.size() && line[at] == ' ') ++at;
  std::string_view rest = line.substr(at);
  rest = rest.substr(0, rest.find(' '));  // a timestamp may follow
  const std::string number(rest);
  char* end = nullptr;
  errno = 0;
  s.value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size()) return std::nullopt;
  return s;
}

}  // namespace

void MetricsFile::gauge(std::string_view name, std::string_view help) {
  for (const Family& f : families_)
    if (f.name == name) return;
  families_.push_back({std::string(name), std::string(help), {}});
}

void MetricsFile::set(std::string_view name, const Labels& labels, double value) {
  for (Family& f : families_) {
    if (f.name != name) continue;
    for (Sample& s : f.samples) {
      if (s.labels == labels) {
        s.value = value;
        return;
      }
    }
    f.samples.push_back({std::string(name), labels, value});
    return;
  }
}

bool MetricsFile::has(std::string_view name, const Labels& labels) const {
  for (const Family& f : families_)
    if (f.name == name)
      return std::any_of(f.samples.begin(), f.samples.end(),
                         [&](const Sample& s) { return s.labels == labels; });
  return false;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MetricsFile::text() const {
  std::string out;
  for (const Family& f : families_) {
    // HELP text escapes only \ and newline.
    std::string help;
    for (const char c : f.help) help += c == '\\' ? "\\\\" : c == '\n' ? "\\n" : std::string(1, c);
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", f.name, help, f.name);
    for (const Sample& s : f.samples) {
      out += s.name;
      if (!s.labels.empty()) {
        out += '{';
        for (std::size_t i = 0; i < s.labels.size(); ++i)
          out += fmt::format("{}{}=\"{}\"", i ? "," : "", s.labels[i].first,
                             escape_label_value(s.labels[i].second));
        out += '}';
      }
      out += fmt::format(" {}\n", value_text(s.value));
    }
  }
  return out;
}

std::vector<Sample> parse_samples(std::string_view text, std::string_view name) {
  std::vector<Sample> out;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line[0] == '#') continue;
    if (auto s = parse_sample(line); s && s->name == name) out.push_back(std::move(*s));
  }
  return out;
}

void carry_over(MetricsFile& file, std::string_view name, const std::string& old_path) {
  // Only a regular file is read, and only its start: a symlink to /dev/zero or a FIFO planted
  // in a shared directory neither hangs the run nor fills its memory. O_NONBLOCK lets a FIFO
  // be opened, and so refused, without waiting for a writer.
  const int fd = ::open(old_path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    text.resize(kMaxMetricsFileRead);
    std::size_t size = 0;
    while (size < text.size()) {
      const ssize_t n = ::read(fd, text.data() + size, text.size() - size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      size += static_cast<std::size_t>(n);
    }
    text.resize(size);
    // A file cut at the limit ends in part of a line, which could read as another value.
    if (size == kMaxMetricsFileRead) text.resize(text.rfind('\n') + 1);
  }
  ::close(fd);
  for (const Sample& s : parse_samples(text, name))
    if (!file.has(name, s.labels)) file.set(name, s.labels, s.value);
}

Result<void> replace_metrics_file(MetricsFile& file, const std::string& path,
                                  std::string_view carried) {
  carry_over(file, carried, path);
  return write_atomically(path, file.text());
}

std::optional<LogLine> write_run_metrics(MetricsFile& file, const std::string& path,
                                         std::string_view carried) {
  auto written = replace_metrics_file(file, path, carried);
  if (written) return std::nullopt;
  return LogLine(LogLevel::kWarning).add("msg", "--metrics-file: " + written.error().message);
}

}  // namespace offpeak
