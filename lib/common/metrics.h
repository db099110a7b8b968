#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "atomic_file.h"
#include "log.h"

namespace offpeak {

using Labels = std::vector<std::pair<std::string, std::string>>;

// One sample of a metric: NAME{LABELS} VALUE.
struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// A metrics file in Prometheus' text exposition format, as node_exporter's textfile
// collector reads it: every metric a gauge, with its HELP and TYPE lines, then its samples.
class MetricsFile {
 public:
  // Declares gauge `name`; its samples come out in the order of the declarations.
  void gauge(std::string_view name, std::string_view help);
  // A sample of a declared gauge; one with the same labels replaces it.
  void set(std::string_view name, const Labels& labels, double value);
  [[nodiscard]] bool has(std::string_view name, const Labels& labels) const;
  [[nodiscard]] std::string text() const;

 private:
  struct Family {
    std::string name, help;
    std::vector<Sample> samples;
  };
  std::vector<Family> families_;
};

// A label value with \\, \" and \n escaped, as the format asks.
[[nodiscard]] std::string escape_label_value(std::string_view value);

// The samples of metric `name` in a metrics file's text; lines that do not parse are left
// out, so a damaged file gives what can still be read.
[[nodiscard]] std::vector<Sample> parse_samples(std::string_view text, std::string_view name);

// How much of a previous metrics file carry_over reads; the tools' files are a few KB.
inline constexpr std::size_t kMaxMetricsFileRead = std::size_t{1} << 20;

// Carries the previous file's samples of `name` over into `file`, those whose labels the
// run did not set: how last_success survives failed runs. A missing or unreadable old file,
// or one that is not a regular file (a symlink, a device, a FIFO), carries nothing; of a
// larger one, the whole lines in its first kMaxMetricsFileRead bytes are read.
void carry_over(MetricsFile& file, std::string_view name, const std::string& old_path);

// Carries `carried` over from the file at `path`, then replaces it with `file`: a run's
// end. An Error (74) says what went wrong.
[[nodiscard]] Result<void> replace_metrics_file(MetricsFile& file, const std::string& path,
                                                std::string_view carried);

// A run's end, as the tools write --metrics-file: replace_metrics_file, and when that fails
// the warning to log ("--metrics-file: REASON"), not an error: the run's work stands.
[[nodiscard]] std::optional<LogLine> write_run_metrics(MetricsFile& file, const std::string& path,
                                                       std::string_view carried);

}  // namespace offpeak
