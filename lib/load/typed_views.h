#pragma once

// The typed views of a load's table: one per source that regions.toml gives `fields` or
// `key_names`, with the key's parts and the typed fields as columns (docs/records.md, "Typed
// views"), and the check of each line against its source's declaration.

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "diagnostics.h"
#include "error.h"
#include "field_cast.h"
#include "ndjson_input.h"
#include "typed_field.h"

namespace offpeak {

class PgConnection;

// A source's declaration, from regions.toml.
struct TypedSource {
  std::string region;
  std::string source;
  TypedDeclaration declaration;
};

// The typed declarations of the sources of the regions.toml at `path` (offpeak-load
// --config): each problem in the file goes to `report`, and any makes an Error (78).
[[nodiscard]] Result<std::vector<TypedSource>> read_typed_sources(
    const std::string& path, const std::function<void(const Diagnostic&)>& report);

// Checks each line's record against its source's typed fields.
class TypedChecks {
 public:
  explicit TypedChecks(const std::vector<TypedSource>& sources);

  // Why the record would not read in its source's view ("field \"close\": \"abc\" is not a
  // number"), or nothing; lines of sources without fields pass.
  [[nodiscard]] std::optional<std::string> problem(const NdjsonRecord& record);

 private:
  struct Field {
    TypedField field;
    std::vector<std::string> tokens;
  };
  std::unordered_map<std::string, std::vector<Field>> fields_;  // by "region\0source"
  std::string last_name_;
  const std::vector<Field>* last_ = nullptr;
  std::string name_;
  std::vector<const std::vector<std::string>*> paths_;  // of the fields of last_
  std::vector<JsonValue> values_;
  std::vector<std::string> scratch_;
};

// The schema of the views over `schema`.`table` (unquoted names): offpeak_views for
// offpeak.records, else SCHEMA_TABLE_views.
[[nodiscard]] std::string views_schema(std::string_view schema, std::string_view table);

// In the load's transaction, after its lock: creates or replaces the view of each of
// `sources` whose definition differs from the one its comment records (a hash), and the
// functions the views call; an unchanged declaration costs one catalog query and no DDL.
// `table` is the loaded table, quoted. Returns how many views were created or replaced.
[[nodiscard]] Result<int> ensure_views(PgConnection& db, const std::string& table,
                                       const std::vector<TypedSource>& sources);

}  // namespace offpeak
