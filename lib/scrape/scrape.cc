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

#include "scrape.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "records.h"

namespace offpeak {
namespace {

using std::chrono::milliseconds;

// Skipped-record messages shown per source; the rest are counted in the summary.
constexpr std::uint64_t kSkippedShown = 10;

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

// Every value a source's requests carry that no output may show: each ${ENV} value and
// each configured header value.
class Masker {
 public:
  // Adds `value`, and its percent-encoded form, which is how a URL carries it.
  void add(const std::string& value) {
    if (value.empty()) return;
    secrets_.push_back(value);
    if (auto encoded = percent_encode(value); encoded != value) {
      secrets_.push_back(encoded);
      // libcurl's URL parser writes escapes in lower case.
      for (size_t i = 0; i + 2 < encoded.size(); ++i) {
        if (encoded[i] != '%') continue;
        for (size_t j = i + 1; j <= i + 2; ++j)
          encoded[j] = static_cast<char>(std::tolower(static_cast<unsigned char>(encoded[j])));
      }
      if (encoded != secrets_.back()) secrets_.push_back(encoded);
    }
    // Longest first, so a secret containing another is masked whole.
    std::sort(secrets_.begin(), secrets_.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }

  [[nodiscard]] std::string operator()(std::string text) const {
    for (const auto& secret : secrets_) {
      for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3))
        text.replace(at, secret.size(), "***");
    }
    return text;
  }

 private:
  std::vector<std::string> secrets_;
};

// The names inside `${...}` in a template.
std::vector<std::string> env_names(std::string_view text) {
  std::vector<std::string> names;
  for (auto at = text.find("${"); at != std::string_view::npos; at = text.find("${", at + 2)) {
    const auto end = text.find('}', at);
    if (end == std::string_view::npos) break;
    names.emplace_back(text.substr(at + 2, end - at - 2));
  }
  return names;
}

// Builds a source's requests: page `index`, or the page after a link or a cursor.
class RequestBuilder {
 public:
  RequestBuilder(const ScrapeOptions& options, const Source& source)
      : options_(options), source_(source) {
    values_.region = options.region->id;
    values_.source = source.name;
    values_.session = last_session(*options.region, options.at);
    for (const auto& name : env_names(source.url))
      if (const char* value = options.env(name.c_str())) mask_.add(value);
    for (const auto& [name, value] : source.headers) {
      for (const auto& env : env_names(value))
        if (const char* v = options.env(env.c_str())) mask_.add(v);
      // A key written into the config as it is is as secret as one from the environment.
      const auto header = expand_template(value, values_, TemplateTarget::kHeader, options.env);
      if (header.error.empty()) mask_.add(header.text);
    }
  }

  struct Built {
    HttpRequest request;
    std::string shown_url;
    std::vector<std::string> shown_headers;
    std::string error;  // where and why a template did not expand
  };

  // The first request, or page `index` of a page or offset source.
  [[nodiscard]] Built page(std::int64_t index) const {
    TemplateValues values = values_;
    std::string param_value;
    const Pagination& p = source_.paginate;
    switch (p.kind) {
      case PageKind::kCursor:
        values.cursor = "";
        break;
      case PageKind::kPage:
        values.page = p.start + index;
        param_value = std::to_string(*values.page);
        break;
      case PageKind::kOffset:
        values.offset = index * p.limit;
        values.limit = p.limit;
        param_value = std::to_string(*values.offset);
        break;
      default:
        break;
    }
    Built built = expand(values);
    if (built.error.empty() && !param_value.empty()) set_param(built, param_value);
    return built;
  }

  // The request after a page whose cursor was `cursor`.
  [[nodiscard]] Built after_cursor(const std::string& cursor) const {
    TemplateValues values = values_;
    values.cursor = cursor;
    Built built = expand(values);
    if (built.error.empty()) set_param(built, cursor);
    return built;
  }

  // The request for a next-page URL the server gave.
  [[nodiscard]] Built at_url(std::string url) const {
    Built built = expand(values_);
    built.request.url = std::move(url);
    built.shown_url = mask_(built.request.url);
    return built;
  }

  [[nodiscard]] const Masker& mask() const { return mask_; }

 private:
  Built expand(const TemplateValues& values) const {
    Built built;
    const auto url = expand_template(source_.url, values, TemplateTarget::kUrl, options_.env);
    if (!url.error.empty()) {
      built.error = fmt::format("url: {}", url.error);
      return built;
    }
    built.request.url = url.text;
    built.shown_url = mask_(url.shown);
    for (const auto& [name, value] : source_.headers) {
      const auto header = expand_template(value, values, TemplateTarget::kHeader, options_.env);
      if (!header.error.empty()) {
        built.error = fmt::format("header {}: {}", name, header.error);
        return built;
      }
      built.request.headers.push_back(fmt::format("{}: {}", name, header.text));
      built.shown_headers.push_back(fmt::format("{}: ***", name));
    }
    built.request.user_agent = source_.user_agent;
    built.request.timeout = source_.timeout;
    built.request.max_bytes = source_.max_bytes;
    return built;
  }

  void set_param(Built& built, const std::string& value) const {
    built.request.url = with_query_param(built.request.url, source_.paginate.param, value);
    if (built.request.url.empty()) {
      built.error = fmt::format("url: cannot set query parameter \"{}\" in {}",
                                source_.paginate.param, built.shown_url);
      return;
    }
    built.shown_url = mask_(with_query_param(built.shown_url, source_.paginate.param, value));
  }

  const ScrapeOptions& options_;
  const Source& source_;
  TemplateValues values_;
  Masker mask_;
};

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
  HttpResponse response;            // kDone without `failure`
  std::optional<ExitCode> failure;  // kDone: why the page cannot be had
  std::string why;
};

struct SourceRun {
  const Source* source = nullptr;
  std::unique_ptr<RequestBuilder> builder;
  std::unique_ptr<RecordExtractor> extractor;
  std::deque<Slot> slots;  // in page order; the head is consumed next
  std::int64_t next_index = 0;
  bool finished = false;
  SourceSummary summary;
  SteadyTime started;
};

class Engine {
 public:
  Engine(Transport& transport, const ScrapeOptions& options, const ScrapeEvents& events)
      : transport_(transport), options_(options), events_(events), random_(options.seed) {}

  ScrapeReport run() {
    for (const Source* source : options_.sources) {
      auto run = std::make_unique<SourceRun>();
      run->source = source;
      run->builder = std::make_unique<RequestBuilder>(options_, *source);
      run->extractor = std::make_unique<RecordExtractor>(*source, options_.region->id);
      run->summary.name = source->name;
      run->started = transport_.now();
      runs_.push_back(std::move(run));
    }
    for (auto& run : runs_) fill(*run);

    while (std::any_of(runs_.begin(), runs_.end(), [](const auto& r) { return !r->finished; })) {
      const SteadyTime now = transport_.now();
      if (now >= options_.deadline) {
        for (auto& run : runs_)
          if (!run->finished) fail(*run, kExitTempFail, "stopped at the deadline");
        break;
      }
      SteadyTime wake = options_.deadline;
      for (auto& run : runs_) {
        for (Slot& slot : run->slots) {
          if (slot.state != Slot::kWaiting) continue;
          if (slot.not_before <= now) {
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
        if (!advance(*run)) return abort_output();
      }
      if (events_.progress) events_.progress(summaries());
    }
    return report();
  }

 private:
  // Queues the source's next slots: the first page, or pages ahead up to `concurrency`.
  void fill(SourceRun& run) {
    const Source& s = *run.source;
    const bool paged = s.paginate.kind == PageKind::kPage || s.paginate.kind == PageKind::kOffset;
    if (run.next_index == 0 || paged) {
      const auto ahead = paged ? std::max(1, s.concurrency) : 1;
      while (static_cast<std::int64_t>(run.slots.size()) < ahead && run.next_index < s.max_pages) {
        if (!queue(run, run.builder->page(run.next_index))) return;
      }
    }
  }

  // Adds a slot for `built`; false (and the source failed) when it could not be built.
  bool queue(SourceRun& run, RequestBuilder::Built built) {
    if (!built.error.empty()) {
      fail(run, kExitConfig, built.error);
      return false;
    }
    Slot slot;
    slot.index = run.next_index++;
    slot.request = std::move(built.request);
    slot.shown_url = std::move(built.shown_url);
    slot.not_before = transport_.now();
    run.slots.push_back(std::move(slot));
    return true;
  }

  void start(SourceRun& run, Slot& slot, SteadyTime now) {
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
      slot.failure = verdict.exit;
      slot.why = verdict.retryable && slot.attempts > 1
                     ? fmt::format("{} (after {} retr{})", what, slot.attempts - 1,
                                   slot.attempts == 2 ? "y" : "ies")
                     : what;
      return;
    }
    std::optional<milliseconds> wait;
    if (!response.retry_after.empty())
      wait = parse_retry_after(response.retry_after, std::chrono::floor<std::chrono::seconds>(
                                                         std::chrono::system_clock::now()));
    if (!wait) wait = backoff_delay(options_.backoff, slot.attempts - 1, random_);
    const SteadyTime now = transport_.now();
    if (now + *wait >= options_.deadline) {
      slot.state = Slot::kDone;
      slot.failure = kExitTempFail;
      slot.why = fmt::format("{}; giving up: a retry in {} would pass the deadline", what,
                             seconds_text(*wait));
      return;
    }
    message(run, Severity::kWarning, "retry",
            fmt::format("{}; retry {} of {} in {}", what, slot.attempts, run.source->retries,
                        seconds_text(*wait)));
    run.summary.retries++;
    slot.state = Slot::kWaiting;
    slot.not_before = now + *wait;
  }

  // Consumes the finished pages at the head of the source's queue, in order. False when
  // the output could not be written.
  bool advance(SourceRun& run) {
    const Source& s = *run.source;
    while (!run.finished && !run.slots.empty() && run.slots.front().state == Slot::kDone) {
      Slot& slot = run.slots.front();
      if (slot.failure) {
        fail(run, *slot.failure, slot.why);
        return true;
      }
      const Instant fetched_at =
          options_.fixed_fetched_at
              ? options_.at
              : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
      PageResult result = run.extractor->extract(slot.response.body, fetched_at);
      if (!result.page) {
        fail(run, kExitDataErr, fmt::format("{}: {}", slot.shown_url, result.error));
        return true;
      }
      const PageRecords& page = *result.page;
      for (const auto& skipped : page.skipped) {
        if (run.summary.skipped++ < kSkippedShown)
          message(run, Severity::kWarning, "skipped",
                  fmt::format("{}: record skipped: {}", slot.shown_url, skipped));
      }
      if (page.found == 0 && s.paginate.kind == PageKind::kPage) {
        finish(run);  // the empty page after the last
        return true;
      }
      if (!page.lines.empty() && !events_.write(page.lines)) return false;
      run.summary.pages++;
      run.summary.records += page.written;

      // Where the next page is, if there is one.
      std::optional<RequestBuilder::Built> next;
      switch (s.paginate.kind) {
        case PageKind::kNone:
          break;
        case PageKind::kJsonLink:
        case PageKind::kHeaderLink: {
          const std::string link = s.paginate.kind == PageKind::kJsonLink
                                       ? page.next.value_or("")
                                       : next_link(slot.response.link);
          if (link.empty()) break;
          const std::string& base =
              slot.response.effective_url.empty() ? slot.request.url : slot.response.effective_url;
          std::string url = resolve_url(base, link);
          if (url.empty()) {
            fail(run, kExitDataErr,
                 fmt::format("{}: the next page's link is not a URL: {}", slot.shown_url,
                             run.builder->mask()(link)));
            return true;
          }
          next = run.builder->at_url(std::move(url));
          break;
        }
        case PageKind::kCursor:
          if (page.next) next = run.builder->after_cursor(*page.next);
          break;
        case PageKind::kPage:
          next.emplace();  // pages go on until an empty one
          break;
        case PageKind::kOffset:
          if (s.paginate.limit > 0 && page.found >= static_cast<std::size_t>(s.paginate.limit))
            next.emplace();
          break;
      }
      const std::int64_t index = slot.index;
      run.slots.pop_front();
      if (!next) {
        finish(run);
        return true;
      }
      if (index + 1 >= s.max_pages) {
        message(run, Severity::kWarning, "stopped at max_pages",
                fmt::format("stopped at max_pages ({}); the source has more pages", s.max_pages));
        run.summary.status = "stopped at max_pages";
        finish(run);
        return true;
      }
      if (s.paginate.kind == PageKind::kPage || s.paginate.kind == PageKind::kOffset) {
        fill(run);
      } else if (!queue(run, std::move(*next))) {
        return true;
      }
    }
    return true;
  }

  void message(const SourceRun& run, Severity severity, std::string_view status,
               const std::string& text) {
    if (events_.message)
      events_.message(severity, run.source->name, status, run.builder->mask()(text));
  }

  void finish(SourceRun& run) {
    for (const Slot& slot : run.slots) {
      if (slot.state != Slot::kInFlight) continue;
      transport_.cancel(slot.transfer);
      in_flight_.erase(slot.transfer);
    }
    run.slots.clear();
    run.finished = true;
    if (run.summary.status == "running") run.summary.status = status_word(run.summary.exit);
    run.summary.seconds = std::chrono::duration<double>(transport_.now() - run.started).count();
  }

  void fail(SourceRun& run, ExitCode exit, const std::string& why) {
    message(run, Severity::kError, status_word(exit), why);
    run.summary.exit = exit;
    run.summary.status = status_word(exit);
    finish(run);
  }

  std::vector<SourceSummary> summaries() const {
    std::vector<SourceSummary> out;
    for (const auto& run : runs_) {
      out.push_back(run->summary);
      if (!run->finished)
        out.back().seconds = std::chrono::duration<double>(transport_.now() - run->started).count();
    }
    return out;
  }

  ScrapeReport report() {
    ScrapeReport r;
    r.sources = summaries();
    for (const auto& s : r.sources) r.exit = worse(r.exit, s.exit);
    return r;
  }

  ScrapeReport abort_output() {
    for (auto& run : runs_) {
      if (run->finished) continue;
      run->summary.status = "stopped";
      run->summary.exit = kExitIoErr;
      finish(*run);
    }
    ScrapeReport r = report();
    r.output_failed = true;
    r.exit = kExitIoErr;
    return r;
  }

  Transport& transport_;
  const ScrapeOptions& options_;
  const ScrapeEvents& events_;
  std::mt19937_64 random_;
  std::vector<std::unique_ptr<SourceRun>> runs_;
  std::map<std::uint64_t, std::pair<SourceRun*, Slot*>> in_flight_;
  std::uint64_t next_transfer_ = 1;
};

}  // namespace

ScrapeReport run_scrape(Transport& transport, const ScrapeOptions& options,
                        const ScrapeEvents& events) {
  return Engine(transport, options, events).run();
}

std::vector<Diagnostic> check_requests(const ScrapeOptions& options) {
  std::vector<Diagnostic> out;
  for (const Source* source : options.sources) {
    const auto built = RequestBuilder(options, *source).page(0);
    if (built.error.empty()) continue;
    Diagnostic d;
    d.pos = source->pos;
    d.region = options.region->id;
    d.key = fmt::format("source \"{}\"", source->name);
    d.message = built.error;
    out.push_back(std::move(d));
  }
  return out;
}

std::string describe_first_requests(const ScrapeOptions& options) {
  std::string out;
  for (const Source* source : options.sources) {
    const auto built = RequestBuilder(options, *source).page(0);
    out += fmt::format("{}/{}: GET {}\n", options.region->id, source->name, built.shown_url);
    for (const auto& header : built.shown_headers) out += fmt::format("  {}\n", header);
    out += fmt::format("  User-Agent: {}\n", source->user_agent);
  }
  return out;
}

LogLine summary_log(std::string_view region, const SourceSummary& s) {
  LogLine line;
  line.add("region", region)
      .add("source", s.name)
      .add("status", s.status)
      .add("pages", s.pages)
      .add("requests", s.requests)
      .add("retries", s.retries)
      .add("bytes", s.bytes)
      .add("records", s.records)
      .add("skipped", s.skipped)
      .add("seconds", s.seconds, 2);
  return line;
}

MetricsFile scrape_metrics(std::string_view region, const std::vector<std::string>& sources,
                           const ScrapeReport* report, int exit, double now, double run_seconds) {
  MetricsFile m;
  m.gauge("offpeak_scrape_last_run_timestamp_seconds", "When the last run ended, in Unix time.");
  m.gauge(kScrapeLastSuccess, "When the source last finished without error, in Unix time.");
  m.gauge("offpeak_scrape_duration_seconds", "How long the source took in the last run.");
  m.gauge("offpeak_scrape_exit_code",
          "The source's exit status in the last run (0 ok, 75 temporary, 65 bad data, 69 "
          "unavailable, 74 output, 78 config).");
  m.gauge("offpeak_scrape_records", "Records written in the last run.");
  m.gauge("offpeak_scrape_pages", "Pages whose records were written in the last run.");
  m.gauge("offpeak_scrape_bytes", "Body bytes received in the last run, decoded.");
  m.gauge("offpeak_scrape_retries", "Retries in the last run.");
  m.gauge("offpeak_scrape_requests",
          "Finished requests of the last run by HTTP status, \"error\" for none.");
  const Labels of_region = {{"region", std::string(region)}};
  if (sources.empty()) {
    m.set("offpeak_scrape_last_run_timestamp_seconds", of_region, now);
    m.set("offpeak_scrape_duration_seconds", of_region, run_seconds);
    m.set("offpeak_scrape_exit_code", of_region, exit);
    return m;
  }
  for (const std::string& name : sources) {
    const Labels labels = {{"region", std::string(region)}, {"source", name}};
    const SourceSummary* s = nullptr;
    if (report)
      for (const SourceSummary& summary : report->sources)
        if (summary.name == name) s = &summary;
    const int source_exit = s ? s->exit : exit;
    m.set("offpeak_scrape_last_run_timestamp_seconds", labels, now);
    if (source_exit == kExitOk) m.set(kScrapeLastSuccess, labels, now);
    m.set("offpeak_scrape_duration_seconds", labels, s ? s->seconds : run_seconds);
    m.set("offpeak_scrape_exit_code", labels, source_exit);
    if (!s) continue;
    m.set("offpeak_scrape_records", labels, static_cast<double>(s->records));
    m.set("offpeak_scrape_pages", labels, static_cast<double>(s->pages));
    m.set("offpeak_scrape_bytes", labels, static_cast<double>(s->bytes));
    m.set("offpeak_scrape_retries", labels, static_cast<double>(s->retries));
    for (const auto& [code, count] : s->responses) {
      Labels with_code = labels;
      with_code.emplace_back("code", code);
      m.set("offpeak_scrape_requests", with_code, static_cast<double>(count));
    }
  }
  return m;
}

}  // namespace offpeak
