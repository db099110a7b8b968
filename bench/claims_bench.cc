// bench/claims: what the ledger's claims add to a tick when 1,000 regions are due on 3 hosts
// at once, and a check that no window is ever claimed twice over many ticks.
//
// Three processes (the hosts) each hold a connection, as offpeak-cron's tick would for its
// duration; the parent releases them together for each tick and collects what each won.
// Between ticks the parent makes every lease run out (time passing), so every tick all 1,000
// windows are contended again, the worst case. Measured side by side in the same run:
//   alone      one host claiming the 1,000 windows with nobody else (the baseline)
//   contended  three hosts claiming the same 1,000 windows at once
//   idle       three hosts at once when every window is held (the common tick of a night)
//   tool       three offpeak-ledger processes at once, connection and schema check included
//
//   claims_bench OFFPEAK_LEDGER TICKS       (PG* variables name the database)

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ledger.h"
#include "pg.h"

namespace {

using namespace offpeak;
using Clock = std::chrono::steady_clock;

constexpr int kRegions = 1000;
constexpr int kHosts = 3;

std::vector<WindowRequest> windows() {
  std::vector<WindowRequest> out;
  for (int i = 0; i < kRegions; ++i) {
    const std::string region = fmt::format("r{:04d}", i);
    out.push_back({region,
                   region + "@2026-11-29T21:00:00Z",
                   "2026-11-29T21:00:00Z",
                   "2099-01-01T00:00:00Z",
                   std::chrono::seconds(1800),
                   {}});
  }
  return out;
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "claims_bench: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<PgConnection> connect() {
  auto db = PgConnection::connect(Conninfo{"", ""});
  if (!db) die(db.error().message);
  return std::move(*db);
}

void exec(PgConnection& db, const std::string& sql) {
  if (auto done = db.exec(sql); !done) die(done.error().message);
}

// One host: claims on each byte it reads ('c'), writes "MICROS REGION,REGION,...\n".
void host(int index, int in, int out) {
  auto db = connect();
  const auto requests = windows();
  const ClaimTerms terms{fmt::format("host{}", index), std::chrono::seconds(300), "bench"};
  FILE* results = fdopen(out, "w");
  char command = 0;
  while (read(in, &command, 1) == 1 && command == 'c') {
    const auto start = Clock::now();
    auto claims = claim_windows(*db, requests, terms);
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    if (!claims) die(claims.error().message);
    std::string line = std::to_string(micros) + " ";
    for (const auto& c : *claims) line += c.region + ",";
    std::fprintf(results, "%s\n", line.c_str());
    std::fflush(results);
  }
  std::exit(0);
}

struct Host {
  pid_t pid;
  int command;
  FILE* results;
};

std::vector<Host> start_hosts(int n) {
  std::vector<Host> hosts;
  for (int i = 0; i < n; ++i) {
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0) die("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
      close(to[1]);
      close(from[0]);
      host(i, to[0], from[1]);
    }
    close(to[0]);
    close(from[1]);
    hosts.push_back({pid, to[1], fdopen(from[0], "r")});
  }
  return hosts;
}

void stop_hosts(std::vector<Host>& hosts) {
  for (auto& h : hosts) {
    if (write(h.command, "q", 1) != 1) die("cannot stop a host");
    close(h.command);
    int status = 0;
    waitpid(h.pid, &status, 0);
    fclose(h.results);
  }
}

// One tick on `hosts`: the time each took (ms), and the windows won, checked: each at most
// once, and all of them when `all` (else none).
std::vector<double> tick(std::vector<Host>& hosts, bool all, long tick_number) {
  for (auto& h : hosts)
    if (write(h.command, "c", 1) != 1) die("cannot start a host");
  std::vector<double> ms;
  std::vector<std::string> won;
  for (auto& h : hosts) {
    std::string line;
    for (int c = fgetc(h.results); c != EOF && c != '\n'; c = fgetc(h.results))
      line += static_cast<char>(c);
    const auto space = line.find(' ');
    if (space == std::string::npos) die("a host died");
    ms.push_back(std::stod(line.substr(0, space)) / 1000.0);
    for (std::size_t p = space + 1, q; (q = line.find(',', p)) != std::string::npos; p = q + 1)
      won.push_back(line.substr(p, q - p));
  }
  const std::set<std::string> distinct(won.begin(), won.end());
  if (distinct.size() != won.size())
    die(fmt::format("tick {}: {} windows claimed twice", tick_number,
                    won.size() - distinct.size()));
  if (won.size() != static_cast<std::size_t>(all ? kRegions : 0))
    die(fmt::format("tick {}: {} windows claimed, expected {}", tick_number, won.size(),
                    all ? kRegions : 0));
  return ms;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double p95(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[(v.size() - 1) * 95 / 100];
}

// Every lease runs out, and the history is emptied (it is not read by a claim).
void time_passes(PgConnection& db) {
  exec(db,
       "UPDATE offpeak.runs SET lease_until = now() - interval '1 second'; "
       "TRUNCATE offpeak.run_attempts");
}

// `n` ticks of `hosts_n` hosts: each host's time per tick (hosts run in parallel, so a host's
// time is what the claims add to its tick). With `expire`, every window is won each tick.
std::vector<double> run_ticks(PgConnection& db, int hosts_n, long n, bool expire, long& counted) {
  auto hosts = start_hosts(hosts_n);
  std::vector<double> per_host;
  for (long i = 0; i < n; ++i) {
    if (expire) time_passes(db);
    for (const double ms : tick(hosts, expire, counted++)) per_host.push_back(ms);
  }
  stop_hosts(hosts);
  return per_host;
}

// Three offpeak-ledger claim processes at once, `n` times: their wall times (ms).
std::vector<double> run_tool(PgConnection& db, const std::string& tool, long n) {
  const std::string input = "/tmp/claims_bench_windows.ndjson";
  std::ofstream file(input);
  for (const auto& w : windows())
    file << fmt::format(
        "{{\"region\":\"{}\",\"window_id\":\"{}\",\"window_start\":\"{}\",\"window_end\":\"{}\","
        "\"budget_seconds\":{}}}\n",
        w.region, w.window_id, w.window_start, w.window_end, w.budget.count());
  file.close();
  std::vector<double> ms;
  for (long i = 0; i < n; ++i) {
    time_passes(db);
    std::vector<std::pair<pid_t, Clock::time_point>> running;
    for (int h = 0; h < kHosts; ++h) {
      const auto start = Clock::now();
      const pid_t pid = fork();
      if (pid == 0) {
        const std::string host = fmt::format("tool{}", h);
        if (!freopen(input.c_str(), "r", stdin) || !freopen("/dev/null", "w", stdout) ||
            !freopen("/dev/null", "w", stderr))
          _exit(1);
        execl(tool.c_str(), tool.c_str(), "claim", "--host", host.c_str(), nullptr);
        _exit(127);
      }
      running.emplace_back(pid, start);
    }
    for (auto& [pid, start] : running) {
      int status = 0;
      waitpid(pid, &status, 0);
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        die(fmt::format("offpeak-ledger claim failed ({})", status));
    }
  }
  std::remove(input.c_str());
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) die("usage: claims_bench OFFPEAK_LEDGER TICKS");
  const std::string tool = argv[1];
  const long ticks = std::stol(argv[2]);
  auto db = connect();
  if (auto made = ensure_ledger_schema(*db); !made) die(made.error().message);
  exec(*db, "TRUNCATE offpeak.runs CASCADE");

  long counted = 0;
  const long side = std::max(20L, std::min(ticks / 10, 500L));
  // The first claims insert the rows; every later tick takes them over.
  (void)run_ticks(*db, 1, 1, true, counted);
  const auto alone = run_ticks(*db, 1, side, true, counted);
  const auto contended = run_ticks(*db, kHosts, ticks, true, counted);
  exec(*db, "UPDATE offpeak.runs SET lease_until = now() + interval '1 hour'");
  const auto idle = run_ticks(*db, kHosts, side, false, counted);
  const auto by_tool = run_tool(*db, tool, std::min(side, 50L));

  std::printf("claims of %d due regions per tick; %ld contended ticks, no window claimed twice\n",
              kRegions, ticks);
  std::printf("%-34s %10s %10s %12s %10s\n", "case (per host)", "median", "p95", "x baseline",
              "target");
  const double base = median(alone);
  const auto row = [&](const char* name, const std::vector<double>& v, const char* target) {
    std::printf("%-34s %8.2fms %8.2fms %11.2fx %10s\n", name, median(v), p95(v), median(v) / base,
                target);
  };
  row("alone: 1 host, 1,000 claims", alone, "");
  row("contended: 3 hosts, 1,000 claims", contended, "50ms");
  row("idle: 3 hosts, all windows held", idle, "");
  row("tool: 3 offpeak-ledger claim", by_tool, "");
  const double m = median(contended);
  std::printf("verdict: contended median %.2f ms is %s the 50 ms target\n", m,
              m < 50 ? "within" : "OVER");
  return 0;
}
