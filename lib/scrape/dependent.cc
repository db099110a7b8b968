// Dependent sources: the parent's records become the {parent.FIELD} values of request chains.
//
// The idea: a parent's records reach its dependents as the output lines its pages make, so
// a parent of any format (JSON, NDJSON, CSV) feeds them the same way, and each line is read
// only for the fields the dependent's templates name. Each record becomes a small list of
// values waiting in a queue; the driver (scrape.cc) starts a chain from the queue whenever
// fewer than `concurrency` of the source's chains run, so however many records the parent has,
// the requests in flight stay bounded and a chain holds no more than one page at a time.

#include "dependent.h"

#include <algorithm>

#include <fmt/format.h>

#include "json_check.h"

namespace offpeak {
namespace {

namespace od = simdjson::ondemand;

// Where each {parent.FIELD} of `text` starts, and its FIELD: the template's syntax was
// checked with the config, so a variable runs to its '}'.
void add_fields(std::string_view text, std::vector<std::string>& fields) {
  constexpr std::string_view kOpen = "{parent.";
  for (auto at = text.find(kOpen); at != std::string_view::npos; at = text.find(kOpen, at + 1)) {
    const auto from = at + kOpen.size();
    const auto end = text.find('}', from);
    if (end == std::string_view::npos) return;
    std::string field(text.substr(from, end - from));
    if (std::find(fields.begin(), fields.end(), field) == fields.end())
      fields.push_back(std::move(field));
  }
}

// The JSON pointer of FIELD ("meta.id") in an output line: /record/meta/id. Field names
// hold letters, digits, '_' and '-' only, so none needs escaping.
std::string line_pointer(std::string_view field) {
  std::string pointer = "/record/";
  for (const char c : field) pointer += c == '.' ? '/' : c;
  return pointer;
}

// The "key":[...] of an output line, for messages.
std::string_view line_key(std::string_view line) {
  const auto from = line.find("\"key\":");
  const auto end = line.find(",\"fetched_at\":");
  if (from == std::string_view::npos || end == std::string_view::npos || end < from) return "";
  return line.substr(from + 6, end - from - 6);
}

}  // namespace

RunSources with_parents(std::span<const Source> all, const std::vector<const Source*>& selected) {
  std::vector<const Source*> needed = selected;
  const auto find = [&](const std::string& name) -> const Source* {
    for (const Source& s : all)
      if (!name.empty() && s.name == name) return &s;
    return nullptr;
  };
  // Each selected source's parent, its parent's parent, and so on (the config has no cycles).
  for (const Source* s : selected)
    for (const Source* p = find(s->from); p; p = find(p->from)) {
      if (std::find(needed.begin(), needed.end(), p) != needed.end()) break;
      needed.push_back(p);
    }
  RunSources out;
  for (const Source& s : all) {
    if (std::find(needed.begin(), needed.end(), &s) == needed.end()) continue;
    out.sources.push_back(&s);
    if (std::find(selected.begin(), selected.end(), &s) == selected.end())
      out.inputs_only.push_back(&s);
  }
  return out;
}

std::vector<std::string> parent_fields(const Source& source) {
  std::vector<std::string> fields;
  if (source.from.empty()) return fields;
  add_fields(source.url, fields);
  for (const auto& [name, value] : source.headers) add_fields(value, fields);
  return fields;
}

RequestBuilder template_builder(const Region& region, std::optional<Session> session,
                                const Source& source, EnvLookup env) {
  ParentValues values;
  for (auto& field : parent_fields(source))
    values.emplace_back(field, fmt::format("{{parent.{}}}", field));
  return RequestBuilder(region, std::move(session), source, std::move(env), std::move(values));
}

std::string show_parent_fields(std::string shown_url, const Source& source) {
  for (const auto& field : parent_fields(source)) {
    const std::string encoded = fmt::format("%7Bparent.{}%7D", field);
    for (auto at = shown_url.find(encoded); at != std::string::npos;
         at = shown_url.find(encoded, at + 1))
      shown_url.replace(at, encoded.size(), fmt::format("{{parent.{}}}", field));
  }
  return shown_url;
}

std::string describe_dependency(const Source& source, bool emitted,
                                std::span<const Source* const> run) {
  std::string out;
  if (!source.from.empty()) {
    out += fmt::format("  one request chain per record of \"{}\", at most {} at once\n",
                       source.from, source.concurrency);
    for (const auto& field : parent_fields(source))
      out += fmt::format("  {{parent.{}}} = {} of each record of \"{}\"\n", field,
                         line_pointer(field).substr(7), source.from);
    for (const auto& field : source.include_from_parent)
      out += fmt::format("  each record gets {} = {} of its record of \"{}\"\n",
                         parent_member(source.from, field), line_pointer(field).substr(7),
                         source.from);
  }
  if (!emitted) {
    std::string fed;
    for (const Source* s : run)
      if (s->from == source.name) fed += fmt::format("{}\"{}\"", fed.empty() ? "" : ", ", s->name);
    out += fmt::format("  its records are not written: they only feed {}\n", fed);
  }
  return out;
}

ChainQueue::ChainQueue(const Source& source, std::string_view region, std::size_t parent)
    : source_(source),
      parent_(parent),
      extractor_(std::make_shared<RecordExtractor>(source, region)),
      fields_(parent_fields(source)) {
  for (const auto& field : fields_) pointers_.push_back(line_pointer(field));
  for (const auto& field : source.include_from_parent)
    member_pointers_.push_back(line_pointer(field));
  totals_.name = source.name;
}

std::vector<std::string> ChainQueue::add(std::string_view lines) {
  std::vector<std::string> messages;
  for (std::size_t at = 0; at < lines.size();) {
    auto end = lines.find('\n', at);
    if (end == std::string_view::npos) end = lines.size();
    const std::string_view line = lines.substr(at, end - at);
    at = end + 1;
    line_.reserve(line.size() + simdjson::SIMDJSON_PADDING);
    line_.assign(line);
    od::document doc;
    std::string problem;
    ChainInputs inputs;
    ParentValues& values = inputs.values;
    if (parser_.iterate(line_.data(), line_.size(), line_.capacity()).get(doc))
      problem = "it is not JSON";
    for (std::size_t i = 0; i < fields_.size() && problem.empty(); ++i) {
      od::value value;
      od::json_type type{};
      if (doc.at_pointer(pointers_[i]).get(value) || value.type().get(type)) {
        problem = fmt::format("it has no {}", pointers_[i].substr(7));
      } else if (type == od::json_type::string) {
        std::string_view text;
        if (value.get_string().get(text)) problem = "invalid JSON string";
        values.emplace_back(fields_[i], text);
      } else if (type == od::json_type::number || type == od::json_type::boolean) {
        std::string_view token = value.raw_json_token();
        while (!token.empty() && is_json_space(token.back())) token.remove_suffix(1);
        values.emplace_back(fields_[i], token);
      } else {
        problem = fmt::format("its {} is {}, not a value for a request", pointers_[i].substr(7),
                              type == od::json_type::null    ? "null"
                              : type == od::json_type::array ? "an array"
                                                             : "an object");
      }
    }
    if (problem.empty()) problem = read_members(doc, inputs.members);
    if (problem.empty()) {
      waiting_.push_back(std::move(inputs));
      continue;
    }
    totals_.skipped++;
    messages.push_back(
        fmt::format("record {} of \"{}\" skipped: {}", line_key(line), source_.from, problem));
  }
  return messages;
}

// The include_from_parent values of the record `doc`, as JSON of any type, or why not.
std::string ChainQueue::read_members(simdjson::ondemand::document& doc,
                                     std::vector<std::string>& members) {
  for (const auto& pointer : member_pointers_) {
    od::value value;
    od::json_type type{};
    std::string_view text;
    if (doc.at_pointer(pointer).get(value) || value.type().get(type))
      return fmt::format("it has no {}, which include_from_parent names", pointer.substr(7));
    if (type == od::json_type::object) {
      od::object object;
      if (value.get_object().get(object) || object.raw_json().get(text)) return "it is not JSON";
    } else if (type == od::json_type::array) {
      od::array array;
      if (value.get_array().get(array) || array.raw_json().get(text)) return "it is not JSON";
    } else {
      text = value.raw_json_token();
      while (!text.empty() && is_json_space(text.back())) text.remove_suffix(1);
    }
    members.emplace_back(text);
  }
  return "";
}

ChainInputs ChainQueue::start() {
  ChainInputs inputs = std::move(waiting_.front());
  waiting_.pop_front();
  ++running_;
  return inputs;
}

void ChainQueue::finished(const SourceSummary& chain, SteadyTime now) {
  --running_;
  add_figures(totals_, chain);
  last_end_ = now;
}

DependentSources::DependentSources(const std::vector<const Source*>& sources,
                                   std::string_view region, Say say, StatusWord word)
    : sources_(sources.size()), say_(std::move(say)), word_(word) {
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const Source& source = *sources[i];
    if (source.from.empty()) continue;
    const auto parent = std::find_if(sources.begin(), sources.end(),
                                     [&](const Source* s) { return s->name == source.from; });
    auto queue = std::make_unique<ChainQueue>(source, region, parent - sources.begin());
    if (parent == sources.end()) {
      queue->totals_.exit = kExitConfig;
      say_(source, Severity::kError, word_(kExitConfig),
           fmt::format("its parent source \"{}\" is not part of the run", source.from));
    }
    queues_.emplace(i, std::move(queue));
  }
}

ChainQueue* DependentSources::find(std::size_t index) const {
  const auto it = queues_.find(index);
  return it == queues_.end() ? nullptr : it->second.get();
}

void DependentSources::feed(std::size_t parent, std::string_view lines) {
  for (auto& [index, queue] : queues_) {
    if (queue->parent_ != parent) continue;
    const auto skipped = queue->add(lines);
    auto shown = queue->totals_.skipped - skipped.size();
    for (const auto& text : skipped)
      if (shown++ < kSkippedShown) say_(queue->source_, Severity::kWarning, "skipped", text);
  }
}

void DependentSources::parent_failed(std::size_t parent, const Source& source, ExitCode exit) {
  for (auto& [index, queue] : queues_) {
    if (queue->parent_ != parent || queue->parent_exit_ != kExitOk) continue;
    queue->parent_exit_ = exit;
    say_(queue->source_, Severity::kError, word_(exit),
         fmt::format("source \"{}\" failed ({}), so not all of its records have requests",
                     source.name, word_(exit)));
  }
}

void DependentSources::stop_waiting(const Error& error) {
  for (auto& [index, queue] : queues_) {
    if (queue->waiting_.empty()) continue;
    say_(queue->source_, Severity::kError, word_(error.exit),
         fmt::format("{}; {} record(s) of \"{}\" got no requests", error.message,
                     queue->waiting_.size(), queue->source_.from));
    queue->totals_.exit = worse(queue->totals_.exit, error.exit);
    queue->stop();
  }
}

void DependentSources::abort(const std::function<bool(std::size_t)>& ended) {
  for (auto& [index, queue] : queues_) {
    if (ended(index)) continue;
    queue->stop();
    queue->totals_.status = "stopped";
    queue->totals_.exit = kExitIoErr;
  }
}

bool DependentSources::ended(std::size_t index,
                             const std::function<bool(std::size_t)>& run_ended) const {
  const ChainQueue* queue = find(index);
  if (!queue) return run_ended(index);
  return queue->idle() && (queue->parent_ >= sources_ || ended(queue->parent_, run_ended));
}

SourceSummary DependentSources::summary(std::size_t index,
                                        const std::vector<const SourceSummary*>& running,
                                        bool ended, SteadyTime now, SteadyTime started) const {
  const ChainQueue& queue = *find(index);
  SourceSummary s = queue.totals_;
  for (const SourceSummary* chain : running) add_figures(s, *chain);
  s.exit = worse(s.exit, queue.parent_exit_);
  if (!ended)
    s.status = "running";
  else if (s.exit != kExitOk && s.status != "stopped")
    s.status = word_(s.exit);
  else if (s.status == "running")
    s.status = "ok";
  const SteadyTime end = ended ? queue.last_end_.value_or(started) : now;
  s.seconds = std::chrono::duration<double>(end - started).count();
  return s;
}

void add_figures(SourceSummary& total, const SourceSummary& chain) {
  total.pages += chain.pages;
  total.requests += chain.requests;
  total.retries += chain.retries;
  total.bytes += chain.bytes;
  total.records += chain.records;
  total.skipped += chain.skipped;
  for (const auto& [code, count] : chain.responses) total.responses[code] += count;
  total.exit = worse(total.exit, chain.exit);
  if (chain.status == "stopped at max_pages") total.status = chain.status;
}

}  // namespace offpeak
