#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include <stdlib.h>

#include "config.h"

namespace {

namespace fs = std::filesystem;

// Runs the test in a fresh temporary directory, removed afterwards with the old working
// directory restored.
class InTempDir {
 public:
  InTempDir() : before_(fs::current_path()) {
    std::string pattern = (fs::temp_directory_path() / "offpeak-config-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    fs::current_path(dir_);
  }
  ~InTempDir() {
    fs::current_path(before_);
    fs::remove_all(dir_);
  }

 private:
  fs::path before_, dir_;
};

std::vector<std::string> messages(const offpeak::ConfigResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(offpeak::format_diagnostic("t", d));
  return out;
}

}  // namespace

TEST_CASE("regions keep the order of the file, not of toml++'s sorted tables") {
  const auto result = offpeak::parse_config(R"(
[regions.zz]
timezone = "UTC"
sessions = ["09:00-17:00"]
[regions.aa]
timezone = "UTC"
offpeak = ["22:00-06:00"]
[regions.mm]
timezone = "UTC"
sessions = ["09:00-17:00"]
)",
                                            "r.toml");
  REQUIRE(result.diagnostics.empty());
  REQUIRE(result.config.regions.size() == 3);
  CHECK(result.config.regions[0].id == "zz");
  CHECK(result.config.regions[1].id == "aa");
  CHECK(result.config.regions[2].id == "mm");
  CHECK(result.config.find_region("aa") == &result.config.regions[1]);
  CHECK(result.config.find_region("nope") == nullptr);
  CHECK(result.config.regions_like("am") == std::vector<std::string>{"aa", "mm", "zz"});
  CHECK(result.config.regions_like("mmm") == std::vector<std::string>{"mm"});
  CHECK(result.config.regions_like("xnys").empty());
}

TEST_CASE("holidays may be TOML dates or strings, and defaults are Mon to Fri") {
  const auto result = offpeak::parse_config(R"(
[regions.x]
timezone = "UTC"
sessions = ["09:00-17:00"]
holidays = [2026-12-25, "2026-12-24"]
offpeak_after_close = "1h30m"
)",
                                            "r.toml");
  REQUIRE(result.diagnostics.empty());
  const auto& region = result.config.regions.at(0);
  REQUIRE(region.holidays.size() == 2);
  CHECK(region.holidays[0] == date::local_days{date::year{2026} / 12 / 24});
  CHECK(region.offpeak_after_close == std::chrono::minutes(90));
  CHECK(region.trading_weekdays == std::array<bool, 7>{false, true, true, true, true, true, false});
}

TEST_CASE("every problem is reported with file, line, column, region and key") {
  const auto result = offpeak::parse_config(R"([regions.x]
timezone = 5
sessions = ["09:00-17:00", 7]
weekdays = []
late_opens = "2026-01-02"
)",
                                            "r.toml");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:2:12: region \"x\": timezone: must be a string",
            "t: error: r.toml:3:28: region \"x\": sessions: must be an array of \"HH:MM-HH:MM\" "
            "strings",
            "t: error: r.toml:4:12: region \"x\": weekdays: must list at least one trading day",
            "t: error: r.toml:5:14: region \"x\": late_opens: must be a table of dates and times, "
            "like { \"2026-11-27\" = \"13:00\" }",
        });
  CHECK(result.config.regions.empty());
}

TEST_CASE("an empty file has no regions") {
  const auto result = offpeak::parse_config("", "r.toml");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml: no regions; define each as a table, like [regions.xnys]"});
}

TEST_CASE("calendar_warnings names each year without holidays") {
  const auto result = offpeak::parse_config(R"([regions.x]
timezone = "Asia/Tokyo"
sessions = ["09:00-15:30"]
holidays = ["2027-01-01"]
)",
                                            "r.toml");
  REQUIRE(result.diagnostics.empty());
  // 2026-12-31T16:00Z is already 2027 in Tokyo: this year and the next are 2027 and 2028.
  const auto warnings =
      offpeak::calendar_warnings(result.config, *offpeak::parse_rfc3339("2026-12-31T16:00:00Z"));
  REQUIRE(warnings.size() == 1);
  CHECK(offpeak::format_diagnostic("t", warnings[0]) ==
        "t: warning: r.toml:1:10: region \"x\": holidays: none listed for 2028; is the calendar "
        "out of date?");
}

TEST_CASE("find_config: flag, then environment, then ./regions.toml") {
  CHECK(offpeak::find_config("a.toml", "b.toml").value() == "a.toml");
  CHECK(offpeak::find_config("", "b.toml").value() == "b.toml");
  InTempDir here;
  std::ofstream("regions.toml") << "";
  CHECK(offpeak::find_config("", nullptr).value() == "regions.toml");
  CHECK(offpeak::find_config("", "").value() == "regions.toml");
}

// As an unreadable /etc/offpeak would, for a user other than root: the candidate cannot be
// looked at, and the tool says so instead of aborting on std::filesystem's exception.
TEST_CASE("find_config: a candidate that cannot be looked at is an error naming it") {
  InTempDir here;
  fs::create_symlink("regions.toml", "regions.toml");  // a loop: stat() fails with ELOOP
  const auto found = offpeak::find_config("", nullptr);
  REQUIRE_FALSE(found);
  CHECK(found.error().exit == offpeak::kExitConfig);
  CHECK(found.error().message == "regions.toml: cannot read: Too many levels of symbolic links");
}

// An invalid session is left out of the spans checked for order: the errors about the
// others must still point at their own elements.
TEST_CASE("session order errors point at their element after an invalid one") {
  const auto result = offpeak::parse_config(R"([regions.x]
timezone = "UTC"
sessions = ["bad", "10:00-12:00", "09:00-09:30"]
[regions.y]
timezone = "UTC"
sessions = [7, "09:00-12:00", "11:00-13:00"]
)",
                                            "r.toml");
  CHECK(messages(result) ==
        std::vector<std::string>{
            "t: error: r.toml:3:13: region \"x\": sessions: \"bad\": expected \"HH:MM-HH:MM\", "
            "like \"09:30-16:00\"",
            "t: error: r.toml:3:35: region \"x\": sessions: \"09:00-09:30\" starts before "
            "\"10:00-12:00\"; list sessions in order",
            "t: error: r.toml:6:13: region \"y\": sessions: must be an array of \"HH:MM-HH:MM\" "
            "strings",
            "t: error: r.toml:6:31: region \"y\": sessions: \"11:00-13:00\" overlaps "
            "\"09:00-12:00\"",
        });
}

TEST_CASE("damaged configs are reported, never a crash or a hang") {
  // The shipped config, cut and mangled at many places: whatever parse_config makes of it,
  // it returns, and every region it accepts can be planned.
  std::ifstream in(OFFPEAK_SOURCE_DIR "/regions.toml");
  const std::string shipped((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(shipped.size() > 1000);
  std::mt19937 random(20261129);
  const std::string noise = "[]{}=\",#.:-0123456789\n xnys";
  const auto at = *offpeak::parse_rfc3339("2026-12-24T12:00:00Z");
  for (int round = 0; round < 300; ++round) {
    std::string text = shipped;
    for (int edit = 0; edit < 3; ++edit) {
      const size_t pos = random() % text.size();
      switch (random() % 3) {
        case 0:
          text.erase(pos, random() % 40);
          break;
        case 1:
          text.insert(pos, 1, noise[random() % noise.size()]);
          break;
        default:
          text[pos] = noise[random() % noise.size()];
      }
    }
    const auto result = offpeak::parse_config(text, "r.toml");
    for (const auto& region : result.config.regions) {
      const auto found = offpeak::window_at(region, at);
      if (found) CHECK(found->window.start < found->window.end);
    }
    CHECK((offpeak::has_errors(result.diagnostics) || !result.config.regions.empty()));
  }
}

TEST_CASE("a config larger than kMaxConfigBytes is refused unread") {
  InTempDir dir;
  const std::string region = "[regions.x]\ntimezone = \"UTC\"\noffpeak = [\"00:00-01:00\"]\n";
  std::string text = region;
  text.resize(offpeak::kMaxConfigBytes, '\n');
  CHECK(messages(offpeak::parse_config(text, "regions.toml")).empty());
  text += '\n';
  CHECK(messages(offpeak::parse_config(text, "regions.toml")) ==
        std::vector<std::string>{
            "t: error: regions.toml: larger than 1048576 bytes, the most a config may have"});
  std::ofstream("big.toml") << text;
  CHECK(messages(offpeak::load_config("big.toml")) ==
        std::vector<std::string>{
            "t: error: big.toml: larger than 1048576 bytes, the most a config may have"});
  // A device without end is read only up to the limit.
  CHECK(messages(offpeak::load_config("/dev/zero")) ==
        std::vector<std::string>{
            "t: error: /dev/zero: larger than 1048576 bytes, the most a config may have"});
}
