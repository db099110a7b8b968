#pragma once

// The run ledger: one row per (region, window) in offpeak.runs, the attempts at it in
// offpeak.run_attempts, and with sources spread over hosts one row per (region, window,
// source) in offpeak.run_sources. Every call takes the connection it runs on, so that a
// caller can put it in a transaction of its own (the load commits `done` with its data).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

namespace offpeak {

class PgConnection;

// The ledger's schema version, kept in offpeak.ledger_version.
inline constexpr int kLedgerSchemaVersion = 2;

// Creates the offpeak schema and the ledger's tables, indexes and version row when they are
// missing; concurrent callers wait for each other (a transaction advisory lock, which
// PgBouncer's transaction pooling keeps). An Error 78 when the database holds a newer schema.
[[nodiscard]] Result<void> ensure_ledger_schema(PgConnection& db);

// A window a tick wants to run, as offpeak-plan --due --json prints it.
struct WindowRequest {
  std::string region;
  std::string window_id;
  std::string window_start;  // RFC 3339
  std::string window_end;    // RFC 3339
  std::chrono::seconds budget{0};
  // A region with claim = "sources": its sources, each claimed on its own; empty for a window
  // claimed whole.
  std::vector<std::string> sources;
};

// Who claims and on what terms.
struct ClaimTerms {
  std::string host;
  std::chrono::seconds lease{300};
  // The configuration's hash: a permanent failure is retried once it changes.
  std::string config_hash;
  // A backfill's windows (REGION@session:DATE): claimed whatever time is left, and again
  // once finished; a backfill's rows and a tick's never take each other's place.
  bool backfill = false;
};

// A claim won: the token is the owner's name in heartbeats and the finish.
struct Claim {
  std::string region;
  std::string window_id;
  std::string source;  // empty for a whole window
  int attempt = 0;
  std::string token;
  std::string lease_until;  // RFC 3339, by the database's clock
};

// Claims the windows of `requests` that are claimable, in one statement: a window never
// claimed, failed and due for its retry (a permanent failure only when the config hash has
// changed), or running with its lease expired; and only while the database's now() plus the
// window's budget is before its end. Of any number of concurrent callers, exactly one wins
// each window; the claims won are returned.
[[nodiscard]] Result<std::vector<Claim>> claim_windows(PgConnection& db,
                                                       const std::vector<WindowRequest>& requests,
                                                       const ClaimTerms& terms);

// Claims at most `limit` sources of the windows of `requests` (each window having the
// sources `sources`), with the same rules per source, taking rows with FOR UPDATE SKIP
// LOCKED so that concurrent callers each get different ones. The window's row records that
// its sources are claimed one by one; it is done when all of them are.
[[nodiscard]] Result<std::vector<Claim>> claim_sources(PgConnection& db,
                                                       const std::vector<WindowRequest>& requests,
                                                       const std::vector<std::string>& sources,
                                                       int limit, const ClaimTerms& terms);

// Whether a window (or a source of it) could be claimed now, and why not, as the ledger says.
struct Peek {
  std::string region;
  std::string window_id;
  std::string source;  // empty for a whole window
  // claimable, done, held (by host until `until`), failed_permanent, backoff (until `until`),
  // no_budget (now + budget is not before the window's end) or missed.
  std::string verdict;
  std::string host;
  std::string until;  // RFC 3339, by the database's clock
  std::string error;  // the last error, if any
};

// What claim_windows() and claim_sources() would grant `terms.host` for `requests` now,
// read only: it writes nothing, takes no lock, and creates no ledger (without one, every
// window with its budget left is claimable). Rows another claimer is busy with still count
// as what they were.
[[nodiscard]] Result<std::vector<Peek>> peek(PgConnection& db,
                                             const std::vector<WindowRequest>& requests,
                                             const ClaimTerms& terms);

// Renews the lease of the claim `token` to now() + `lease`, only while it is still the
// owner and its lease has not run out: false when it has lost the claim (taken over, or
// expired), which tells the run to stop.
[[nodiscard]] Result<bool> heartbeat(PgConnection& db, const std::string& token,
                                     std::chrono::seconds lease);

// How a claimed run ended.
struct Finish {
  std::string token;
  bool done = false;
  std::optional<int> scrape_exit;
  std::optional<int> load_exit;
  std::optional<long long> load_id;
  std::string sources_json;          // per-source status and records, a JSON object; may be empty
  std::optional<long long> records;  // a source's claim: its record count
  std::string status;                // a source's claim: its status word (ok, too_few_records)
  std::string error;                 // masked before it is stored
  // The first retry waits `retry_base`, each further one twice as long, at most `retry_max`.
  std::chrono::seconds retry_base{600};
  std::chrono::seconds retry_max{7200};
};

// What finish() recorded.
struct Finished {
  std::string region;
  std::string window_id;
  std::string source;
  std::string state;  // done or failed
  bool permanent = false;
  std::string retry_at;      // RFC 3339, empty unless retried
  std::string window_state;  // the window's state after it (for a source's claim)
};

// Ends the claim `token` as done or failed, on the caller's connection and in its
// transaction. A failure whose exit code (the load's, else the scrape's) is 69 or 78 is
// permanent; others are retried after the backoff. Nothing when `token` no longer owns a
// running claim (it was taken over): the caller's work is then not recorded.
[[nodiscard]] Result<std::optional<Finished>> finish(PgConnection& db, const Finish& f);

// An operator's reset: makes the failed windows (and sources) of `region` claimable again
// at once, permanent or not; only `window_id`'s when given. Returns how many rows it reset.
[[nodiscard]] Result<int> reset(PgConnection& db, const std::string& region,
                                const std::optional<std::string>& window_id);

// A window marked missed by sweep().
struct Missed {
  std::string region;
  std::string window_id;
  std::string reason;
};

// Marks missed every window that has closed (by the database's clock) without being done
// and has no live lease, keeping the last reason it failed for.
[[nodiscard]] Result<std::vector<Missed>> sweep(PgConnection& db);

// `text` with the secrets it may carry masked as "********": passwords of URLs
// (scheme://user:PASSWORD@), values of password=, token=, key=, secret=, signature= and
// similar parameters, Authorization and similar headers' values, and what redact_passwords()
// (pg.h) masks: the passwords of `conninfo` and $PGPASSWORD's value.
[[nodiscard]] std::string mask_secrets(std::string text, std::string_view conninfo);

}  // namespace offpeak
