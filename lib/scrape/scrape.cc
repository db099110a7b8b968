// The scrape driver: every source of a region as a queue of page requests over one
// transport, with retries, paging and the deadline.
//
// The idea: each source keeps an ordered queue of slots, one per page it has asked for.
// Link and cursor sources never have more than one (the next URL comes from the page
// before); page and offset sources keep up to `concurrency` slots in flight. Whatever order
// transfers finish in, a source only ever consumes the slot at the head of its queue, so
// records come out in page order, a failure fetched ahead past the last page is never
// seen, and memory holds at most `concurrency` bodies per source. One loop starts the slots
// that are due, waits on the transport until the next transfer finishes or the next retry
// is due, and consumes heads; the deadline bounds every wait, retry and transfer.
//
// A dependent source (`from`, dependent.h) has no run of its own: each record of its parent
// queues the values of one chain, a run of the same kind made with those values, and at most
// `concurrency` chains run at once, each a page at a time. Its figures are those of its chains.

#include "scrape.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "body_preview.h"
#include "dependent.h"
#include "rate_limit.h"
#include "records.h"
#include "request_builder.h"
#include "source_end.h"

namespace offpeak {
namespace {

using std::chrono::milliseconds;

std::string status_word(ExitCode code) {
  switch (code) {
    case kExitOk:
      return "ok";
    case kExitTempFail:
      return "temporary failure";
    case kExitDataErr:
      return "bad data";
    case kExitUnavailable:
      return "unavailable";
    case kExitConfig:
      return "config error";
    default:
      return "failed";
  }
}

std::string seconds_text(milliseconds d) {
  return fmt::format("{:.1f} s", std::chrono::duration<double>(d).count());
}

// One page asked for.
struct Slot {
  enum State { kWaiting, kInFlight, kDone };
  std::int64_t index = 0;  // the page's position in the source, from 0
  HttpRequest request;
  std::string shown_url;
  State state = kWaiting;
  SteadyTime not_before;
  int attempts = 0;
  std::uint64_t transfer = 0;
  std::optional<CachedResponse> cached;  // the cache's entry, whose validators were sent
  bool from_cache = false;               // the response is a 304's, with the cached body
  HttpResponse response;                 // kDone without `failure`
  std::optional<Error> failure;          // kDone: why the page cannot be had
};

struct SourceRun {
  const Source* source = nullptr;
  std::size_t index = 0;  // in options.sources
  std::unique_ptr<RequestBuilder> builder;
  std::shared_ptr<RecordExtractor> extractor;  // shared by the chains of a dependent source
  std::unique_ptr<SourceEnd> end;              // the line that ends a complete run
  std::deque<Slot> slots;                      // in page order; the head is consumed next
  std::int64_t next_index = 0;
  std::set<std::string> fetched_urls;  // of link and cursor sources: one fetched again is a loop
  bool finished = false;
  SourceSummary summary;
  SteadyTime started;
  ChainQueue* chain_of = nullptr;           // a chain of a dependent source: that source's queue
  std::vector<std::string> parent_members;  // its include_from_parent values
};

// Whether the run writes the source's records.
bool emits(const ScrapeOptions& options, const Source* source) {
  return source->emit && std::find(options.inputs_only.begin(), options.inputs_only.end(),
                                   source) == options.inputs_only.end();
}

class Engine {
 public:
  Engine(Transport& transport, const ScrapeOptions& options, const ScrapeEvents& events)
      : transport_(transport),
        options_(options),
        events_(events),
        random_(options.seed),
        session_(run_session(options)),
        dependents_(
            options.sources, options.region->id,
            [this](const Source& source, Severity severity, std::string_view status,
                   const std::string& text) {
              if (events_.message) events_.message(severity, source.name, status, text);
            },
            status_word) {}

  ScrapeReport run() {
    std::vector<std::string> limit_keys;
    for (std::size_t i = 0; i < options_.sources.size(); ++i) {
      const Source* source = options_.sources[i];
      plain_.push_back(nullptr);
      if (!source->from.empty()) {
        limit_keys.push_back(limit_key(
            *source, template_builder(*options_.region, session_, *source, options_.env)));
        continue;
      }
      auto run = make_run(i, {});
      run->extractor = std::make_shared<RecordExtractor>(*source, options_.region->id);
      limit_keys.push_back(limit_key(*source, *run->builder));
      plain_.back() = run.get();
      runs_.push_back(std::move(run));
    }
    limits_.emplace(options_.sources, limit_keys);
    for (auto& run : runs_) fill(*run);

    for (;;) {
      tend_chains();
      if (std::all_of(runs_.begin(), runs_.end(), [](const auto& r) { return r->finished; })) break;
      const SteadyTime now = transport_.now();
      if (now >= options_.deadline) {
        for (auto& run : runs_)
          if (!run->finished) fail(*run, {kExitTempFail, "stopped at the deadline"});
        dependents_.stop_waiting({kExitTempFail, "stopped at the deadline"});
        break;
      }
      SteadyTime wake = options_.deadline;
      for (auto& run : runs_) {
        for (Slot& slot : run->slots) {
          if (slot.state != Slot::kWaiting) continue;
          // A request waits for its turn under the rate limit of its host or vendor key.
          if (slot.not_before <= now) slot.not_before = limits_->next(run->index, now);
          if (slot.not_before <= now) {
            limits_->take(run->index, now);
            start(*run, slot, now);
          } else {
            wake = std::min(wake, slot.not_before);
          }
        }
      }
      for (auto& done : transport_.wait(wake)) {
        const auto it = in_flight_.find(done.id);
        if (it == in_flight_.end()) continue;
        const auto [run, slot] = it->second;
        in_flight_.erase(it);
        finished(*run, *slot, std::move(done.response));
        if (auto written = advance(*run); !written) return abort_output(std::move(written));
      }
      if (events_.progress) events_.progress(summaries());
    }
    return report();
  }

 private:
  std::unique_ptr<SourceRun> make_run(std::size_t index, ChainInputs parent) {
    const Source* source = options_.sources[index];
    auto run = std::make_unique<SourceRun>();
    run->source = source;
    run->index = index;
    run->builder = std::make_unique<RequestBuilder>(*options_.region, session_, *source,
                                                    options_.env, std::move(parent.values));
    run->parent_members = std::move(parent.members);
    run->end = std::make_unique<SourceEnd>(*source, options_.region->id);
    run->summary.name = source->name;
    if (options_.cache) run->summary.not_modified = 0;
    run->started = transport_.now();
    return run;
  }

  // Drops the chains that ended (their figures are in their source's totals) and starts
  // those whose turn it is.
  void tend_chains() {
    std::erase_if(runs_, [](const auto& run) { return run->chain_of && run->finished; });
    for (const auto& [index, queue] : dependents_.queues()) {
      while (queue->ready()) {
        auto run = make_run(index, queue->start());
        run->extractor = queue->extractor();
        run->chain_of = queue.get();
        SourceRun& chain = *run;
        runs_.push_back(std::move(run));
        fill(chain);
      }
    }
  }

  // Whether the source at `index` of options.sources has ended: its run, or for a dependent
  // source, its parent and every chain.
  bool source_done(std::size_t index) const {
    return dependents_.ended(index, [this](std::size_t i) { return plain_[i]->finished; });
  }

  // A dependent source's figures, its running chains' included.
  SourceSummary dependent_summary(std::size_t index, SteadyTime now) const {
    std::vector<const SourceSummary*> running;
    for (const auto& run : runs_)
      if (run->chain_of == dependents_.find(index) && !run->finished)
        running.push_back(&run->summary);
    return dependents_.summary(index, running, source_done(index), now, started_);
  }

  // Records written so far by the source of `run`: by all its chains for a dependent one.
  std::uint64_t records_so_far(const SourceRun& run) const {
    return run.chain_of ? run.chain_of->written : run.summary.records;
  }

  // Queues the source's next slots: the first page, or pages ahead up to `concurrency`.
  void fill(SourceRun& run) {
    const Source& s = *run.source;
    const bool paged = s.paginate.kind == PageKind::kPage || s.paginate.kind == PageKind::kOffset;
    if (run.next_index == 0 || paged) {
      // A dependent source's `concurrency` is that of its chains; each goes a page at a time.
      const auto ahead = paged && !run.chain_of ? std::max(1, s.concurrency) : 1;
      while (static_cast<std::int64_t>(run.slots.size()) < ahead && run.next_index < s.max_pages) {
        if (!queue(run, run.builder->page(run.next_index))) return;
      }
    }
  }

  // Adds a slot for `built`; false (and the source failed) when it could not be built.
  bool queue(SourceRun& run, Result<BuiltRequest> built) {
    if (!built) {
      fail(run, std::move(built).error());
      return false;
    }
    Slot slot;
    slot.index = run.next_index++;
    slot.request = std::move(built->request);
    slot.shown_url = std::move(built->shown_url);
    slot.not_before = transport_.now();
    run.slots.push_back(std::move(slot));
    return true;
  }

  void start(SourceRun& run, Slot& slot, SteadyTime now) {
    // The first attempt looks up the cache; retries send the same conditions again.
    if (options_.cache && slot.attempts == 0) {
      slot.cached = options_.cache->get(slot.request);
      if (slot.cached) add_conditions(slot.request, *slot.cached);
    }
    slot.state = Slot::kInFlight;
    slot.attempts++;
    slot.transfer = next_transfer_++;
    slot.request.time_left = std::chrono::ceil<milliseconds>(options_.deadline - now);
    in_flight_[slot.transfer] = {&run, &slot};
    run.summary.requests++;
    transport_.start(slot.transfer, slot.request);
  }

  // A transfer finished: the page is had, failed for good, or waits for its retry.
  void finished(SourceRun& run, Slot& slot, HttpResponse response) {
    run.summary.bytes += response.body.size();
    ++run.summary.responses[response.status > 0 ? std::to_string(response.status) : "error"];
    if (response.status == 304 && response.error == FetchError::kNone && slot.cached) {
      // Not modified: the body is the cached one, and so are the records.
      ++*run.summary.not_modified;
      slot.from_cache = true;
      response.status = 200;
      response.body = std::move(slot.cached->body);
      response.content_type = slot.cached->content_type;
      response.link = slot.cached->link;
      slot.cached.reset();
    }
    const Verdict verdict = judge(response);
    if (verdict.ok) {
      slot.state = Slot::kDone;
      slot.response = std::move(response);
      return;
    }
    const std::string what = fmt::format("{}: {}", slot.shown_url, describe(response));
    const int retries_left = run.source->retries - (slot.attempts - 1);
    if (!verdict.retryable || retries_left <= 0) {
      slot.state = Slot::kDone;
      slot.failure =
          Error{verdict.exit, verdict.retryable && slot.attempts > 1
                                  ? fmt::format("{} (after {} retr{})", what, slot.attempts - 1,
                                                slot.attempts == 2 ? "y" : "ies")
                                  : what};
      return;
    }
    std::optional<milliseconds> wait;
    if (!response.retry_after.empty())
      wait = parse_retry_after(response.retry_after, std::chrono::floor<std::chrono::seconds>(
                                                         std::chrono::system_clock::now()));
    if (!wait) wait = backoff_delay(options_.backoff, slot.attempts - 1, random_);
    const SteadyTime now = transport_.now();
    if (response.status == 429) slow_down(run, now + *wait);
    if (now + *wait >= options_.deadline) {
      slot.state = Slot::kDone;
      slot.failure =
          Error{kExitTempFail, fmt::format("{}; giving up: a retry in {} would pass the deadline",
                                           what, seconds_text(*wait))};
      return;
    }
    message(run, Severity::kWarning, "retry",
            fmt::format("{}; retry {} of {} in {}", what, slot.attempts, run.source->retries,
                        seconds_text(*wait)));
    run.summary.retries++;
    slot.state = Slot::kWaiting;
    slot.not_before = now + *wait;
  }

  // The key of the source's rate limit: its rate_limit_key, else its first request's host.
  static std::string limit_key(const Source& source, const RequestBuilder& builder) {
    if (!source.rate_limit_key.empty()) return source.rate_limit_key;
    const auto first = builder.page(0);
    return first ? url_host(first->request.url) : "";
  }

  // A 429 slows every source that shares the limit, and says so once per 429.
  void slow_down(const SourceRun& run, SteadyTime until) {
    const auto interval = limits_->slow_down(run.index, until);
    if (interval.count() == 0) return;
    message(
        run, Severity::kWarning, "slowed",
        fmt::format("HTTP 429: the rate limit of \"{}\" is now one request every {:.3g} s",
                    limits_->key_of(run.index), std::chrono::duration<double>(interval).count()));
  }

  // Consumes the finished pages at the head of the source's queue, in order. An Error when
  // the output could not be written.
  Result<void> advance(SourceRun& run) {
    const Source& s = *run.source;
    while (!run.finished && !run.slots.empty() && run.slots.front().state == Slot::kDone) {
      Slot& slot = run.slots.front();
      if (slot.failure) {
        fail(run, *slot.failure);
        return {};
      }
      const Instant fetched_at =
          options_.fixed_fetched_at
              ? options_.at
              : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      const auto extracted =
          run.extractor->extract(slot.response.body, fetched_at, run.parent_members);
      if (!extracted) {
        fail(run, {kExitDataErr, fmt::format("{}: {}{}", slot.shown_url, extracted.error().message,
                                             body_preview(s.format, slot.response.content_type,
                                                          slot.response.body))});
        return {};
      }
      const PageRecords& page = *extracted;
      if (options_.cache && !slot.from_cache) keep(run, slot);
      for (const auto& skipped : page.skipped) {
        if (run.summary.skipped++ < kSkippedShown)
          message(run, Severity::kWarning, "skipped",
                  fmt::format("{}: record skipped: {}", slot.shown_url, skipped));
      }
      if (page.found == 0 && s.paginate.kind == PageKind::kPage) {
        finish(run);  // the empty page after the last
        return write_end(run);
      }
      const auto [lines, count] = within_limit(run, page);
      run.end->take(lines);
      if (!lines.empty() && emits(options_, run.source)) {
        if (auto written = events_.write(lines); !written) return written;
      }
      dependents_.feed(run.index, lines);
      run.summary.pages++;
      run.summary.records += count;
      if (run.chain_of) run.chain_of->written += count;
      if (options_.limit > 0 && records_so_far(run) >= options_.limit) {
        finish(run);  // --limit: a preview ends here, whatever pages are left
        if (run.chain_of) stop_chains(*run.chain_of);
        return {};
      }

      auto next = next_request(run, slot, page);
      const std::int64_t index = slot.index;
      run.slots.pop_front();
      if (!next) {
        finish(run);
        return write_end(run);
      }
      if (index + 1 >= s.max_pages) {
        message(run, Severity::kWarning, "stopped at max_pages",
                fmt::format("stopped at max_pages ({}); the source has more pages", s.max_pages));
        run.summary.status = "stopped at max_pages";
        finish(run);
        return {};
      }
      if (s.paginate.kind == PageKind::kPage || s.paginate.kind == PageKind::kOffset) {
        fill(run);
      } else if (!queue(run, std::move(*next))) {
        return {};
      }
    }
    return {};
  }

  // A good page's response goes into the cache, for a conditional request next time; one that
  // cannot be written costs that, not the run.
  void keep(const SourceRun& run, const Slot& slot) {
    if (auto kept = options_.cache->put(slot.request, slot.response); !kept)
      message(run, Severity::kWarning, "cache", kept.error().message);
  }

  // A source that declares its runs complete says so after its last page, when it has
  // fetched every page and left no record out: the load then marks as deleted the rows the
  // run did not return. Never under --limit, nor after a failure, min_records and
  // max_skipped included.
  Result<void> write_end(SourceRun& run) {
    if (!run.end->declared() || options_.limit > 0 || run.summary.exit != kExitOk || run.chain_of)
      return {};
    if (run.summary.skipped > 0) {
      message(run, Severity::kWarning, "not complete",
              fmt::format("{} record{} skipped: no end line, so the load marks nothing deleted",
                          run.summary.skipped, run.summary.skipped == 1 ? "" : "s"));
      return {};
    }
    return events_.write(run.end->line(run.summary.records));
  }

  // The page's lines and their count, cut to what --limit leaves the source.
  std::pair<std::string_view, std::uint64_t> within_limit(const SourceRun& run,
                                                          const PageRecords& page) const {
    std::string_view lines = page.lines;
    const std::uint64_t so_far = records_so_far(run);
    if (options_.limit == 0 || so_far + page.written <= options_.limit)
      return {lines, page.written};
    const std::uint64_t keep = options_.limit - so_far;
    std::size_t end = 0;
    for (std::uint64_t i = 0; i < keep; ++i) end = lines.find('\n', end) + 1;
    return {lines.substr(0, end), keep};
  }

  // Where the page after `slot` is: nothing after the last page; for page and offset sources
  // an empty request, as fill() builds those; an Error when a link is not a URL, or points
  // back at a page already fetched, which would be fetched again until max_pages.
  std::optional<Result<BuiltRequest>> next_request(SourceRun& run, const Slot& slot,
                                                   const PageRecords& page) const {
    const Pagination& paginate = run.source->paginate;
    switch (paginate.kind) {
      case PageKind::kNone:
        return std::nullopt;
      case PageKind::kJsonLink:
      case PageKind::kHeaderLink: {
        const std::string link = paginate.kind == PageKind::kJsonLink
                                     ? page.next.value_or("")
                                     : next_link(slot.response.link);
        if (link.empty()) return std::nullopt;
        const std::string& base =
            slot.response.effective_url.empty() ? slot.request.url : slot.response.effective_url;
        auto url = resolve_url(base, link);
        if (!url)
          return Error{kExitDataErr, fmt::format("{}: the next page's link is not a URL: {}",
                                                 slot.shown_url, run.builder->mask()(link))};
        run.fetched_urls.insert(slot.request.url);
        run.fetched_urls.insert(base);
        if (run.fetched_urls.contains(*url))
          return Error{kExitDataErr,
                       fmt::format("{}: the next page's link points back at a page already "
                                   "fetched: {}",
                                   slot.shown_url, run.builder->mask()(*url))};
        return run.builder->at_url(std::move(*url));
      }
      case PageKind::kCursor: {
        if (!page.next) return std::nullopt;
        auto next = run.builder->after_cursor(*page.next);
        run.fetched_urls.insert(request_key(slot.request));
        if (next && run.fetched_urls.contains(request_key(next->request)))
          return Error{kExitDataErr,
                       fmt::format("{}: the next page's cursor points back at a page already "
                                   "fetched: {}",
                                   slot.shown_url, next->shown_url)};
        return next;
      }
      case PageKind::kPage:
        return BuiltRequest{};  // pages go on until an empty one
      case PageKind::kOffset:
        if (paginate.limit > 0 && page.found >= static_cast<std::size_t>(paginate.limit))
          return BuiltRequest{};
        return std::nullopt;
    }
    return std::nullopt;
  }

  void message(const SourceRun& run, Severity severity, std::string_view status,
               const std::string& text) {
    if (events_.message)
      events_.message(severity, run.source->name, status, run.builder->mask()(text));
  }

  void finish(SourceRun& run) {
    if (run.summary.exit == kExitOk) check_rule(run);
    for (const Slot& slot : run.slots) {
      if (slot.state != Slot::kInFlight) continue;
      transport_.cancel(slot.transfer);
      in_flight_.erase(slot.transfer);
    }
    run.slots.clear();
    run.finished = true;
    if (run.summary.status == "running") run.summary.status = status_word(run.summary.exit);
    run.summary.seconds = std::chrono::duration<double>(transport_.now() - run.started).count();
    if (run.chain_of) run.chain_of->finished(run.summary, transport_.now());
  }

  // Ends every chain of a dependent source, running or waiting.
  void stop_chains(ChainQueue& queue) {
    queue.stop();
    for (auto& run : runs_)
      if (run->chain_of == &queue && !run->finished) finish(*run);
  }

  // A source that answered fails all the same when it skipped more records than max_skipped
  // allows or wrote fewer than min_records (--limit lowers that to its N): a night that
  // loaded nothing is no success. Not applied to each chain of a dependent source: one
  // instrument without bars is no failure.
  void check_rule(SourceRun& run) {
    if (run.chain_of) return;
    const Source& s = *run.source;
    SourceSummary& sum = run.summary;
    const std::uint64_t found = sum.records + sum.skipped;
    const bool too_many_skipped =
        s.max_skipped_percent
            ? sum.skipped * 100 > found * static_cast<std::uint64_t>(s.max_skipped)
            : sum.skipped > static_cast<std::uint64_t>(s.max_skipped);
    auto min_records = static_cast<std::uint64_t>(s.min_records);
    if (options_.limit > 0) min_records = std::min(min_records, options_.limit);
    std::string why;
    if (too_many_skipped) {
      sum.status = "too_many_skipped";
      why = fmt::format("{} of {} records skipped, more than max_skipped ({}{})", sum.skipped,
                        found, s.max_skipped, s.max_skipped_percent ? "%" : "");
    } else if (sum.records < min_records) {
      sum.status = "too_few_records";
      why = fmt::format("{} record{} written, fewer than min_records ({})", sum.records,
                        sum.records == 1 ? "" : "s", min_records);
    } else {
      return;
    }
    sum.exit = kExitDataErr;
    message(run, Severity::kError, sum.status, why);
  }

  void fail(SourceRun& run, const Error& error) {
    message(run, Severity::kError, status_word(error.exit), error.message);
    run.summary.exit = error.exit;
    run.summary.status = status_word(error.exit);
    finish(run);
    dependents_.parent_failed(run.index, *run.source, error.exit);
  }

  std::vector<SourceSummary> summaries() const {
    std::vector<SourceSummary> out;
    const SteadyTime now = transport_.now();
    for (std::size_t i = 0; i < plain_.size(); ++i) {
      if (!plain_[i]) {
        out.push_back(dependent_summary(i, now));
        continue;
      }
      out.push_back(plain_[i]->summary);
      if (!plain_[i]->finished)
        out.back().seconds = std::chrono::duration<double>(now - plain_[i]->started).count();
    }
    return out;
  }

  ScrapeReport report() {
    ScrapeReport r;
    r.sources = summaries();
    for (const auto& s : r.sources) r.exit = worse(r.exit, s.exit);
    return r;
  }

  ScrapeReport abort_output(Result<void> output) {
    dependents_.abort([this](std::size_t index) { return source_done(index); });
    for (auto& run : runs_) {
      if (run->finished) continue;
      run->summary.status = "stopped";
      run->summary.exit = kExitIoErr;
      finish(*run);
    }
    ScrapeReport r = report();
    r.output = std::move(output);
    r.exit = kExitIoErr;
    return r;
  }

  Transport& transport_;
  const ScrapeOptions& options_;
  const ScrapeEvents& events_;
  std::mt19937_64 random_;
  const std::optional<Session> session_;
  std::optional<RateLimits> limits_;
  DependentSources dependents_;
  std::vector<std::unique_ptr<SourceRun>> runs_;  // those of sources first, then chains
  std::vector<SourceRun*> plain_;  // by index in options.sources; null for a dependent source
  const SteadyTime started_ = transport_.now();
  std::map<std::uint64_t, std::pair<SourceRun*, Slot*>> in_flight_;
  std::uint64_t next_transfer_ = 1;
};

}  // namespace

ScrapeReport run_scrape(Transport& transport, const ScrapeOptions& options,
                        const ScrapeEvents& events) {
  return Engine(transport, options, events).run();
}

std::optional<Session> run_session(const ScrapeOptions& options) {
  return options.session_day ? template_session_on(*options.region, *options.session_day)
                             : template_session(*options.region, options.at);
}

std::vector<Diagnostic> check_requests(const ScrapeOptions& options) {
  const auto session = run_session(options);
  std::vector<Diagnostic> out;
  for (const Source* source : options.sources) {
    const auto built = template_builder(*options.region, session, *source, options.env).page(0);
    if (built) continue;
    Diagnostic d;
    d.pos = source->pos;
    d.region = options.region->id;
    d.key = fmt::format("source \"{}\"", source->name);
    d.message = built.error().message;
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

// --dry-run's list of the first request's {variables} and the ${VAR}s its templates use,
// those shown as ***.
std::string describe_variables(const Region& region, const Source& source,
                               const TemplateValues& values) {
  std::string out;
  for (const auto& [name, value] : variable_values(template_variables(region, source), values))
    if (name != kParentVariable)  // describe_dependency() lists them
      out += fmt::format("  {{{}}} ={}{}\n", name, value.empty() ? "" : " ", value);
  std::vector<std::string> env = env_variables(source.url);
  for (auto& name : env_variables(source.body))
    if (std::find(env.begin(), env.end(), name) == env.end()) env.push_back(std::move(name));
  for (const auto& [header, value] : source.headers)
    for (auto& name : env_variables(value))
      if (std::find(env.begin(), env.end(), name) == env.end()) env.push_back(std::move(name));
  for (const auto& name : env) out += fmt::format("  ${{{}}} = ***\n", name);
  return out;
}

}  // namespace

std::string describe_first_requests(const ScrapeOptions& options) {
  const auto session = run_session(options);
  std::string out;
  for (const Source* source : options.sources) {
    const RequestBuilder builder = template_builder(*options.region, session, *source, options.env);
    const auto built = builder.page(0);
    if (!built) continue;  // check_requests() reports it
    out +=
        fmt::format("{}/{}: {} {}\n", options.region->id, source->name,
                    source->post ? "POST" : "GET", show_parent_fields(built->shown_url, *source));
    for (const auto& header : built->shown_headers) out += fmt::format("  {}\n", header);
    out += fmt::format("  User-Agent: {}\n", source->user_agent);
    if (built->request.post) out += fmt::format("  body: {}\n", built->shown_body);
    out += describe_variables(*options.region, *source, builder.values_of_page(0));
    out += describe_dependency(*source, emits(options, source), options.sources);
  }
  return out;
}

}  // namespace offpeak
