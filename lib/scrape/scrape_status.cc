// The scrape's status file: its exit code and each source's status and record count, as one
// JSON object written atomically just before the scrape exits.
//
// The key idea is the order of events in `offpeak-scrape | offpeak-load`: the file is
// complete on disk before the scrape's standard output closes, so a load that has seen the
// end of its input finds it; a scrape that died (killed, crashed) leaves none, and the load
// then knows the input it read was cut short.

#include "scrape_status.h"

#include <fmt/format.h>

#include "json_text.h"

namespace offpeak {

std::string scrape_status_json(int exit, const std::vector<std::string>& sources,
                               const ScrapeReport* report) {
  std::string out = fmt::format("{{\"exit\":{},\"sources\":{{", exit);
  bool first = true;
  for (const std::string& name : sources) {
    const SourceSummary* summary = nullptr;
    if (report)
      for (const SourceSummary& s : report->sources)
        if (s.name == name) summary = &s;
    out += first ? "" : ",";
    first = false;
    if (summary)
      out += fmt::format("{}:{{\"status\":{},\"records\":{},\"skipped\":{},\"exit\":{}}}",
                         json_string(name), json_string(summary->status), summary->records,
                         summary->skipped, summary->exit);
    else
      out += fmt::format("{}:{{\"status\":\"not_run\"}}", json_string(name));
  }
  return out + "}}\n";
}

}  // namespace offpeak
