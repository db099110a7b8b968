#pragma once

// Dependent sources (`from`): a source whose requests take their values from the records of
// another source of the region, one request chain per record of that parent.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "error.h"
#include "fetch.h"
#include "records.h"
#include "request_builder.h"
#include "scrape.h"
#include "source.h"

namespace offpeak {

// A dependent source's {parent.FIELD} values from one record of its parent: FIELD, value.
using ParentValues = std::vector<std::pair<std::string, std::string>>;

// What one record of its parent gives a chain: its {parent.FIELD} values, and the values
// (JSON) of the source's include_from_parent fields, which each of its records gets.
struct ChainInputs {
  ParentValues values;
  std::vector<std::string> members;
};

// The sources a run needs to fetch `selected`: those, and every source they take values
// from, in the config's order. `inputs_only` are the latter that were not selected: they
// run, but only feed their dependents.
struct RunSources {
  std::vector<const Source*> sources;
  std::vector<const Source*> inputs_only;
};
[[nodiscard]] RunSources with_parents(std::span<const Source> all,
                                      const std::vector<const Source*>& selected);

// The FIELDs of the {parent.FIELD} variables of the source's url and headers, each once.
[[nodiscard]] std::vector<std::string> parent_fields(const Source& source);

// A source's request builder for checks, --dry-run and its rate limit's host: a dependent
// source's {parent.FIELD} variables stand for themselves (show_parent_fields() shows them).
[[nodiscard]] RequestBuilder template_builder(const Region& region, std::optional<Session> session,
                                              const Source& source, EnvLookup env);

// `shown_url` of a template_builder() request with each {parent.FIELD} written as such.
[[nodiscard]] std::string show_parent_fields(std::string shown_url, const Source& source);

// --dry-run's lines on where a source's values come from, and where its records go: for a
// dependent source, its parent and each {parent.FIELD}; for a source that is not emitted,
// the sources it feeds. `run` is every source of the run.
[[nodiscard]] std::string describe_dependency(const Source& source, bool emitted,
                                              std::span<const Source* const> run);

// The chains of one dependent source: the records of its parent waiting for theirs, how many
// run, and the figures of those that ended. Records come in as the parent's output lines;
// each becomes the {parent.FIELD} values of one chain.
class ChainQueue {
 public:
  // `parent`: the parent's index in the run's sources.
  ChainQueue(const Source& source, std::string_view region, std::size_t parent);

  // Queues a chain for each record in `lines` (whole output lines of the parent). A record
  // without a value for a field (of the templates or include_from_parent) is left out; the
  // messages say which and why.
  [[nodiscard]] std::vector<std::string> add(std::string_view lines);

  // Whether a chain may start: one is waiting and fewer than `concurrency` run.
  [[nodiscard]] bool ready() const { return !waiting_.empty() && running_ < source_.concurrency; }
  // The inputs of the next chain, which now runs.
  [[nodiscard]] ChainInputs start();
  // A chain ended, at `now`, with these figures.
  void finished(const SourceSummary& chain, SteadyTime now);
  // No chain starts any more (--limit reached, the deadline, the output gone).
  void stop() { waiting_.clear(); }
  [[nodiscard]] bool idle() const { return waiting_.empty() && running_ == 0; }

  [[nodiscard]] const Source& source() const { return source_; }
  [[nodiscard]] std::size_t parent() const { return parent_; }
  // The record extractor every chain of the source shares: one page is read at a time.
  [[nodiscard]] const std::shared_ptr<RecordExtractor>& extractor() const { return extractor_; }

  std::uint64_t written = 0;  // records written by every chain, for --limit

 private:
  friend class DependentSources;
  [[nodiscard]] std::string read_members(simdjson::ondemand::document& doc,
                                         std::vector<std::string>& members);
  const Source& source_;
  std::size_t parent_;
  std::shared_ptr<RecordExtractor> extractor_;
  std::vector<std::string> fields_;
  std::vector<std::string> pointers_;         // of each field, in an output line
  std::vector<std::string> member_pointers_;  // of each include_from_parent field
  std::deque<ChainInputs> waiting_;
  int running_ = 0;
  SourceSummary totals_;                // the chains that ended, records left out
  ExitCode parent_exit_ = kExitOk;      // how the parent ended, when it failed
  std::optional<SteadyTime> last_end_;  // when a chain last ended
  simdjson::ondemand::parser parser_;
  std::string line_;  // the line being read, with room for the parser's padding
};

// The dependent sources of a run, by their index in its sources, and what the driver tells
// them: a parent's page, a parent's failure, the deadline, the output gone.
class DependentSources {
 public:
  // What a dependent source says: a message under its name, as ScrapeEvents::message.
  using Say = std::function<void(const Source& source, Severity severity, std::string_view status,
                                 const std::string& text)>;
  // The status word of a failure's exit code ("unavailable").
  using StatusWord = std::string (*)(ExitCode);

  // Queues for every source of `sources` with `from`; one whose parent is not among them
  // fails with 78.
  DependentSources(const std::vector<const Source*>& sources, std::string_view region, Say say,
                   StatusWord word);

  // The queue of the source at `index`, or null when it is not a dependent source.
  [[nodiscard]] ChainQueue* find(std::size_t index) const;
  [[nodiscard]] const auto& queues() const { return queues_; }

  // A page of source `parent` was read: its records (`lines`) become its dependents' chains.
  void feed(std::size_t parent, std::string_view lines);
  // Source `parent` failed with `exit`: its dependents fail with it, saying so once.
  void parent_failed(std::size_t parent, const Source& source, ExitCode exit);
  // `error` (the deadline) ends every dependent source with chains still waiting.
  void stop_waiting(const Error& error);
  // The output is gone: every dependent source that has not ended stops with 74.
  void abort(const std::function<bool(std::size_t)>& ended);

  // Whether dependent source `index` has ended: its parent and every chain. `run_ended` says
  // it of a source with a run of its own.
  [[nodiscard]] bool ended(std::size_t index,
                           const std::function<bool(std::size_t)>& run_ended) const;
  // Its figures: those of the chains that ended and of `running` ones, and how its parent
  // ended; its seconds from `started` (the run's start) to its last chain's end, or `now`.
  [[nodiscard]] SourceSummary summary(std::size_t index,
                                      const std::vector<const SourceSummary*>& running, bool ended,
                                      SteadyTime now, SteadyTime started) const;

 private:
  std::map<std::size_t, std::unique_ptr<ChainQueue>> queues_;
  std::size_t sources_;  // in the run; a parent's index past them: not in the run
  Say say_;
  StatusWord word_;
};

// Adds `chain`'s figures to `total`: counts summed, the worse exit kept.
void add_figures(SourceSummary& total, const SourceSummary& chain);

}  // namespace offpeak
