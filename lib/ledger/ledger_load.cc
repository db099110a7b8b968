// The ledger inside offpeak-load's transaction: the claim's `done` goes into the same COMMIT
// as the records, so no crash between the two can leave the ledger and the data disagreeing.
//
// The key idea is that the load decides only after its input has ended: by then the scrape
// has written its status file (it does so before it exits, hence before the pipe closes), so
// the file tells whether the records read were all the scrape meant to write.

#include "ledger_load.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>

#include "ledger.h"
#include "pg.h"

namespace offpeak {

namespace {

// The scrape's exit code and its "sources" object as JSON text, from its status file.
struct ScrapeStatus {
  std::int64_t exit = 0;
  std::string sources_json;
};

Result<ScrapeStatus> read_scrape_status(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Error{kExitTempFail,
                 fmt::format("no scrape status in {}: the scrape did not finish, so its records "
                             "may be cut short",
                             path)};
  std::stringstream text;
  text << file.rdbuf();
  simdjson::dom::parser parser;
  simdjson::dom::element status;
  ScrapeStatus out;
  simdjson::dom::object sources;
  if (parser.parse(text.str()).get(status) != simdjson::SUCCESS ||
      status["exit"].get_int64().get(out.exit) != simdjson::SUCCESS ||
      status["sources"].get_object().get(sources) != simdjson::SUCCESS)
    return Error{kExitDataErr,
                 fmt::format("{}: not a scrape status (offpeak-scrape --status-file)", path)};
  out.sources_json = simdjson::minify(sources);
  return out;
}

}  // namespace

std::function<Result<void>(PgConnection& db, std::int64_t load_id)> ledger_done_hook(
    std::string token, std::string scrape_status_file) {
  return [token = std::move(token), file = std::move(scrape_status_file)](
             PgConnection& db, std::int64_t load_id) -> Result<void> {
    ScrapeStatus scrape;
    if (!file.empty()) {
      auto read = read_scrape_status(file);
      if (!read) return std::move(read).error();
      scrape = std::move(*read);
      if (scrape.exit != 0) return {};  // the records commit; the window is not done
    }
    Finish f;
    f.token = token;
    f.done = true;
    f.scrape_exit = file.empty() ? std::nullopt : std::optional<int>(0);
    f.load_exit = 0;
    f.load_id = load_id;
    f.sources_json = scrape.sources_json;
    auto finished = finish(db, f);
    if (!finished) return std::move(finished).error();
    if (!*finished)
      return Error{kExitTempFail,
                   fmt::format("the ledger's claim {} is no longer this run's (its lease ran out "
                               "and another host took the window over)",
                               token)};
    return {};
  };
}

}  // namespace offpeak
