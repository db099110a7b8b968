// Throughput of record extraction on the scrape benchmark's pages: 200 Polygon-style
// pages of 5,000 bar records each (about 83 MB). The baseline, timed in the same run, is
// simdjson::minify over the same bytes: the least any extractor that copies the records
// out minified must do. Also times one 100 MB array page, the size of a hostile body.

#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "records.h"
#include "source.h"
#include "timestamp.h"

namespace {

std::string page(int number, int records) {
  std::string body =
      R"({"ticker":"AAPL","queryCount":5000,"resultsCount":5000,"adjusted":true,"results":[)";
  unsigned state = static_cast<unsigned>(number) * 2654435761u + 1;
  const auto next = [&state] { return state = state * 1103515245u + 12345u, state >> 8; };
  char record[256];
  for (int i = 0; i < records; ++i) {
    const double o = 100 + static_cast<double>(next() % 10000) / 100.0;
    const int n = std::snprintf(
        record, sizeof record,
        R"(%s{"T":"AAPL","v":%u,"vw":%.4f,"o":%.3f,"c":%.2f,"h":%.2f,"l":%.2f,"t":%lld,"n":%u})",
        i ? "," : "", next() % 100000000, o + 0.6292, o, o - 0.3, o + 2.9, o - 0.6,
        1673298000000LL + (static_cast<long long>(number) * records + i) * 60000LL,
        next() % 1000000);
    body.append(record, static_cast<std::size_t>(n));
  }
  body += R"(],"status":"OK","request_id":"6a7e466379af0a71039d60cc78e72282","count":5000,)";
  body +=
      R"("next_url":"https://api.polygon.io/v2/aggs/ticker/AAPL/range/1/minute/2023-01-09/2023-02-10?cursor=)" +
      std::to_string(number + 1) + "\"}";
  body.reserve(body.size() + offpeak::kBodyPadding);
  return body;
}

// CPU time of this thread: the figures hold on a machine busy with other work.
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char**) {
  std::vector<std::string> pages;
  std::size_t bytes = 0;
  for (int i = 0; i < 200; ++i) bytes += pages.emplace_back(page(i, 5000)).size();

  offpeak::Source source;
  source.name = "bars";
  source.records = "/results";
  source.key = {"T", "t"};
  source.paginate.kind = offpeak::PageKind::kJsonLink;
  source.paginate.next = "/next_url";
  const offpeak::Instant at = *offpeak::parse_rfc3339("2026-11-27T22:00:00Z");

  constexpr int kRuns = 7;
  std::vector<double> minify_times, extract_times;
  std::size_t lines = 0, out_bytes = 0;
  std::vector<char> out(pages.front().size() * 2);
  for (int run = 0; run < kRuns; ++run) {
    double start = cpu_seconds();
    for (const std::string& body : pages) {
      if (out.size() < body.size()) out.resize(body.size());
      std::size_t length = 0;
      if (simdjson::minify(body.data(), body.size(), out.data(), length)) return 1;
    }
    minify_times.push_back((cpu_seconds() - start));

    offpeak::RecordExtractor extractor(source, "xnys");
    lines = out_bytes = 0;
    start = cpu_seconds();
    for (std::string& body : pages) {
      const auto r = extractor.extract(body, at);
      if (!r || !r->next) return 1;
      lines += r->written;
      out_bytes += r->lines.size();
    }
    extract_times.push_back((cpu_seconds() - start));
  }
  std::sort(minify_times.begin(), minify_times.end());
  std::sort(extract_times.begin(), extract_times.end());
  const double mb = static_cast<double>(bytes) / 1e6;
  const double minify = minify_times[kRuns / 2], extract = extract_times[kRuns / 2];
  std::printf("%zu pages, %.1f MB in, %zu records, %.1f MB out; median CPU time of %d runs:\n",
              pages.size(), mb, lines, static_cast<double>(out_bytes) / 1e6, kRuns);
  std::printf("  %-30s %8.1f ms %8.0f MB/s\n", "baseline simdjson::minify", minify * 1e3,
              mb / minify);
  std::printf("  %-30s %8.1f ms %8.0f MB/s  %.2fx baseline  (target: well under 300 ms)\n",
              "RecordExtractor::extract", extract * 1e3, mb / extract, extract / minify);

  if (argc > 1) return 0;  // pages only, for a profiler

  // One 100 MB array of the same records, as a hostile source might send.
  pages.clear();
  std::string big = "[";
  std::string chunk = page(0, 5000);
  const std::string_view records_text =
      std::string_view(chunk).substr(chunk.find('[') + 1, chunk.find(']') - chunk.find('[') - 1);
  while (big.size() < 100'000'000) {
    if (big.size() > 1) big += ',';
    big += records_text;
  }
  big += ']';
  source.records = "";
  source.paginate = {};
  offpeak::RecordExtractor extractor(source, "xnys");
  const double start = cpu_seconds();
  const auto r = extractor.extract(big, at);
  const double t = (cpu_seconds() - start);
  if (!r) return 1;
  std::printf("  %-30s %8.1f ms %8.0f MB/s  (%zu records)\n", "one 100 MB array page", t * 1e3,
              static_cast<double>(big.size()) / 1e6 / t, r->written);
}
