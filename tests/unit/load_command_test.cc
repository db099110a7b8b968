// offpeak-load's run through run_load_command, up to where it would need a database: what it
// says through the console, its exit code, and the metrics file it leaves.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "load_command.h"
#include "metrics.h"
#include "temp_dir.h"

using namespace offpeak;

namespace {

// A console that records what a run says, in order, and answers `env` from a list.
struct Recorded {
  std::vector<std::string> said;       // "error 74: ...", "log: ...", "diagnostic: ..."
  std::vector<std::string> env_asked;  // the names looked up
  std::vector<std::pair<std::string, std::string>> env;
  std::string out;
  Console console;

  Recorded() {
    console.write = [this](std::string_view text) -> Result<void> {
      out += text;
      return {};
    };
    console.log = [this](const LogLine& line) { said.push_back("log: " + line.text("t")); };
    console.diagnostic = [this](const Diagnostic& d) {
      said.push_back("diagnostic: " + d.message);
    };
    console.error = [this](const Error& e) {
      said.push_back("error " + std::to_string(e.exit) + ": " + e.message);
    };
    console.env = [this](const char* name) -> const char* {
      env_asked.emplace_back(name);
      for (const auto& [key, value] : env)
        if (key == name) return value.c_str();
      return nullptr;
    };
  }
};

// The unlabelled sample `name` of the metrics file at `path`.
double sample(const std::filesystem::path& path, std::string_view name) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  for (const Sample& s : parse_samples(text.str(), name))
    if (s.labels.empty()) return s.value;
  FAIL("no sample " << name << " in " << path);
  return 0;
}

}  // namespace

TEST_CASE("run_load_command: an input that cannot be opened is a usage error, and no metrics") {
  TempDir dir;
  Recorded r;
  LoadCommand command;
  command.files = {(dir.path / "in.ndjson").string(), (dir.path / "missing.ndjson").string()};
  command.metrics_file = (dir.path / "load.prom").string();
  // The first input opens, the second does not: nothing goes further.
  std::FILE* in = std::fopen(command.files[0].c_str(), "w");
  REQUIRE(in != nullptr);
  std::fclose(in);
  command.reject_file = (dir.path / "r.ndjson").string();

  CHECK(run_load_command(command, r.console) == kExitUsage);
  CHECK(r.said == std::vector<std::string>{"error 64: cannot open " + command.files[1] +
                                           ": No such file or directory"});
  CHECK_FALSE(std::filesystem::exists(command.metrics_file));
  CHECK_FALSE(std::filesystem::exists(command.reject_file));
  CHECK(r.env_asked.empty());
}

TEST_CASE("run_load_command: a reject file that cannot be created ends the run 74, with metrics") {
  TempDir dir;
  Recorded r;
  LoadCommand command;
  command.files = {"-"};
  command.reject_file = (dir.path / "missing" / "r.ndjson").string();
  command.metrics_file = (dir.path / "load.prom").string();

  CHECK(run_load_command(command, r.console) == kExitIoErr);
  CHECK(r.said == std::vector<std::string>{"error 74: --reject-file: cannot create " +
                                           command.reject_file + ": No such file or directory"});
  // Before any connection: DATABASE_URL is not even looked up.
  CHECK(r.env_asked.empty());
  CHECK(sample(command.metrics_file, "offpeak_load_exit_code") == 74);
  CHECK(sample(command.metrics_file, "offpeak_load_duration_seconds") >= 0);

  SECTION("a dry run leaves the metrics file alone") {
    std::filesystem::remove(command.metrics_file);
    command.dry_run = true;
    CHECK(run_load_command(command, r.console) == kExitIoErr);
    CHECK_FALSE(std::filesystem::exists(command.metrics_file));
  }
  SECTION("a metrics file that cannot be written is a warning after the error") {
    command.metrics_file = (dir.path / "missing" / "load.prom").string();
    r.said.clear();
    CHECK(run_load_command(command, r.console) == kExitIoErr);
    REQUIRE(r.said.size() == 2);
    CHECK(r.said[1].starts_with("log: t: level=warning msg=\"--metrics-file: cannot create " +
                                (dir.path / "missing").string() + "/.load.prom."));
  }
}

TEST_CASE("run_load_command: the connection comes from DATABASE_URL when --db is not given") {
  TempDir dir;
  Recorded r;
  LoadCommand command;
  command.files = {"-"};
  command.metrics_file = (dir.path / "load.prom").string();
  const std::string nowhere = (dir.path / "no-server").string();
  r.env = {{"DATABASE_URL", "host=" + nowhere + " dbname=x connect_timeout=2"}};

  const ExitCode code = run_load_command(command, r.console);
  CHECK((code == kExitUnavailable || code == kExitTempFail));
  REQUIRE(r.said.size() == 1);
  CHECK(r.said[0].starts_with("error " + std::to_string(code) + ": "));
  CHECK(r.said[0].find(nowhere) != std::string::npos);
  CHECK(r.env_asked.front() == "DATABASE_URL");
  CHECK(sample(command.metrics_file, "offpeak_load_exit_code") == static_cast<int>(code));

  SECTION("--db wins over it") {
    command.db = "host=" + (dir.path / "elsewhere").string() + " dbname=x connect_timeout=2";
    r.said.clear();
    CHECK(run_load_command(command, r.console) == code);
    REQUIRE(r.said.size() == 1);
    CHECK(r.said[0].find("elsewhere") != std::string::npos);
  }
}
