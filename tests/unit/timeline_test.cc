#include <catch2/catch.hpp>

#include "config.h"
#include "plan.h"
#include "timeline.h"

namespace {

using offpeak::Instant;
using std::chrono::minutes;

Instant at(const char* text) { return *offpeak::parse_rfc3339(text); }

// A region off-peak every day from 22:10 to 06:00 UTC.
const offpeak::Config& config() {
  static const auto result = offpeak::parse_config(R"(
[regions.night]
timezone = "UTC"
offpeak = ["22:10-06:00"]
weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
)",
                                                   "r.toml");
  REQUIRE(result.diagnostics.empty());
  return result.config;
}

const offpeak::Region& night() { return config().regions.at(0); }

}  // namespace

TEST_CASE("cells are the smallest size that draws the days in at most 100") {
  CHECK(offpeak::timeline_cell_size(1) == minutes(15));
  CHECK(offpeak::timeline_cell_size(2) == minutes(30));
  CHECK(offpeak::timeline_cell_size(3) == minutes(60));
  CHECK(offpeak::timeline_cell_size(4) == minutes(60));
  CHECK(offpeak::timeline_cell_size(5) == minutes(120));
  CHECK(offpeak::timeline_cell_size(8) == minutes(120));
  CHECK(offpeak::timeline_cell_size(9) == minutes(180));
  CHECK(offpeak::timeline_cell_size(12) == minutes(180));
  CHECK(offpeak::timeline_cell_size(13) == minutes(360));
  CHECK(offpeak::timeline_cell_size(14) == minutes(360));
}

TEST_CASE("a cell is # when entirely off-peak, + when partly, . when not") {
  // Hour cells from 20:00: 20-21 no, 21-22 no, 22-23 from 22:10 (partly), 23-00 all.
  CHECK(offpeak::timeline_cells(night(), at("2026-12-01T20:00:00Z"), minutes(60), 4) == "..+#");
  // A window that ends exactly on a cell boundary leaves the next cell empty.
  CHECK(offpeak::timeline_cells(night(), at("2026-12-02T04:00:00Z"), minutes(60), 3) == "##.");
  // A cell wider than a gap between windows is partly off-peak, not trading.
  CHECK(offpeak::timeline_cells(night(), at("2026-12-01T00:00:00Z"), minutes(360), 4) == "#..+");
  // A window that started before the picture fills its first cells.
  CHECK(offpeak::timeline_cells(night(), at("2026-12-02T01:00:00Z"), minutes(30), 2) == "##");
}

TEST_CASE("the picture has dates, hours, now above and below, and a legend") {
  const std::vector<const offpeak::Region*> regions{&night()};
  const auto picture = offpeak::render_timeline(
      regions, {at("2026-12-01T18:00:00Z"), 1, at("2026-12-01T22:20:00Z")});
  CHECK(picture ==
        "       2026-12-01              2026-12-02\n"
        "UTC    18          21          00          03          06          09          12"
        "          15\n"
        "                        v\n"
        "night  ................+###############################..................."
        ".............................\n"
        "                        ^\n"
        "# off-peak  + partly off-peak  . not off-peak  v now 2026-12-01T22:20:00Z  cells of "
        "15m, times UTC\n");
}

TEST_CASE("now outside the picture is said in the legend, not drawn") {
  const std::vector<const offpeak::Region*> regions{&night()};
  const auto picture = offpeak::render_timeline(
      regions, {at("2026-12-01T00:00:00Z"), 1, at("2026-12-05T00:00:00Z")});
  CHECK(picture.find('v') == std::string::npos);
  CHECK(picture.find("now 2026-12-05T00:00:00Z is outside the picture") != std::string::npos);
}
