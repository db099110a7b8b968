#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "metrics.h"
#include "temp_dir.h"

namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a metrics file: HELP and TYPE for each gauge, then its samples, labels escaped") {
  offpeak::MetricsFile m;
  m.gauge("offpeak_x_records", "Records written.");
  m.gauge("offpeak_x_exit_code", "The exit status.");
  m.set("offpeak_x_records", {{"region", "xnys"}, {"source", "a\\b\"c\nd"}}, 15);
  m.set("offpeak_x_exit_code", {}, 0);
  m.set("offpeak_x_records", {{"region", "xnys"}, {"source", "a\\b\"c\nd"}}, 16);
  m.set("offpeak_x_records", {{"region", "xlon"}, {"source", "s"}}, 1.5);
  CHECK(m.text() ==
        "# HELP offpeak_x_records Records written.\n"
        "# TYPE offpeak_x_records gauge\n"
        "offpeak_x_records{region=\"xnys\",source=\"a\\\\b\\\"c\\nd\"} 16\n"
        "offpeak_x_records{region=\"xlon\",source=\"s\"} 1.5\n"
        "# HELP offpeak_x_exit_code The exit status.\n"
        "# TYPE offpeak_x_exit_code gauge\n"
        "offpeak_x_exit_code 0\n");
  CHECK(offpeak::escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("samples read back from a file, escapes undone, and bad lines left out") {
  const auto samples = offpeak::parse_samples(
      "# HELP m A metric.\n# TYPE m gauge\n"
      "m{region=\"x\\\"y\",source=\"a\\\\b\\nc\"} 1767225600.5\n"
      "m 42\n"
      "other{region=\"x\"} 1\n"
      "m{region=\"unterminated} 1\n"
      "m{region=\"x\"} not-a-number\n"
      "m{region=\"x\"} 7 1767225600000\n",
      "m");
  REQUIRE(samples.size() == 3);
  CHECK(samples[0].labels == offpeak::Labels{{"region", "x\"y"}, {"source", "a\\b\nc"}});
  CHECK(samples[0].value == 1767225600.5);
  CHECK(samples[1].labels.empty());
  CHECK(samples[1].value == 42);
  CHECK(samples[2].value == 7);
}

TEST_CASE("the file is replaced atomically, 0644, and no temporary file is left") {
  TempDir dir;
  const auto path = dir.path / "offpeak.prom";
  REQUIRE(offpeak::write_atomically(path.string(), "m 1\n"));
  REQUIRE(offpeak::write_atomically(path.string(), "m 2\n"));
  CHECK(read(path) == "m 2\n");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator()) == 1);
  const auto written = offpeak::write_atomically((dir.path / "no/such/dir.prom").string(), "m 1\n");
  REQUIRE(!written);
  CHECK(written.error().exit == offpeak::kExitIoErr);
  CHECK(written.error().message.starts_with("cannot create "));
}

TEST_CASE("last_success carries over from the old file for labels the run did not set") {
  TempDir dir;
  const auto path = (dir.path / "offpeak.prom").string();
  const std::string name = "offpeak_x_last_success_timestamp_seconds";
  offpeak::MetricsFile m;
  m.gauge(name, "When it last succeeded.");
  // A missing old file carries nothing.
  offpeak::carry_over(m, name, path);
  CHECK(m.text() == "# HELP " + name + " When it last succeeded.\n# TYPE " + name + " gauge\n");

  REQUIRE(offpeak::write_atomically(
      path, "# TYPE " + name + " gauge\n" + name + "{source=\"a\"} 100\n" + name +
                "{source=\"b\"} 200\n" + name + " 300\noffpeak_x_other{source=\"c\"} 1\n"));
  m.set(name, {{"source", "a"}}, 1000);
  offpeak::carry_over(m, name, path);
  CHECK(m.text() == "# HELP " + name + " When it last succeeded.\n# TYPE " + name + " gauge\n" +
                        name + "{source=\"a\"} 1000\n" + name + "{source=\"b\"} 200\n" + name +
                        " 300\n");
}

TEST_CASE("carry_over reads only a regular file, and only its first MiB") {
  TempDir dir;
  const std::string name = "offpeak_x_last_success_timestamp_seconds";
  const std::string sample = name + "{source=\"a\"} 100\n";
  const auto carried = [&](const std::string& path) {
    offpeak::MetricsFile m;
    m.gauge(name, "When it last succeeded.");
    offpeak::carry_over(m, name, path);
    return m.has(name, {{"source", "a"}});
  };
  const auto real = dir / "real.prom";
  std::ofstream(real) << sample;
  REQUIRE(carried(real.string()));
  // A symlink planted in a shared directory is not followed, to a file or to a device.
  std::filesystem::create_symlink(real, dir / "link.prom");
  CHECK_FALSE(carried((dir / "link.prom").string()));
  std::filesystem::create_symlink("/dev/zero", dir / "zero.prom");
  CHECK_FALSE(carried((dir / "zero.prom").string()));
  CHECK_FALSE(carried("/dev/zero"));
  // A FIFO with no writer is refused at once rather than waited on.
  REQUIRE(::mkfifo((dir / "fifo.prom").c_str(), 0600) == 0);
  CHECK_FALSE(carried((dir / "fifo.prom").string()));
  // What lies beyond the limit is not read; a line cut by it is left out.
  const auto big = dir / "big.prom";
  std::ofstream(big) << std::string(offpeak::kMaxMetricsFileRead - 2, '#') << "\n" << sample;
  CHECK_FALSE(carried(big.string()));
  std::ofstream(big) << std::string(offpeak::kMaxMetricsFileRead - sample.size() - 1, '#') << "\n"
                     << sample;
  CHECK(carried(big.string()));
}

TEST_CASE("write_atomically replaces only a regular file") {
  TempDir dir;
  const auto target = dir / "target";
  std::ofstream(target) << "precious\n";
  const auto link = dir / "link.prom";
  std::filesystem::create_symlink(target, link);
  REQUIRE(::mkfifo((dir / "fifo.prom").c_str(), 0600) == 0);
  std::filesystem::create_directory(dir / "dir.prom");
  for (const auto& path : {link, dir / "fifo.prom", dir / "dir.prom"}) {
    const auto written = offpeak::write_atomically(path.string(), "m 1\n");
    REQUIRE_FALSE(written);
    CHECK(written.error().exit == offpeak::kExitIoErr);
    CHECK(written.error().message == "will not replace " + path.string() + ": not a regular file");
  }
  CHECK(std::filesystem::is_symlink(link));
  CHECK(std::filesystem::is_fifo(dir / "fifo.prom"));
  CHECK(read(target) == "precious\n");
  // Nothing left behind: the three, the target, and no temporary file.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                      std::filesystem::directory_iterator()) == 4);
}
