"""run.py's cases of typed views (docs/records.md, "Typed views"): offpeak-load --config."""

import json
import os
import re

from pgenv import check, check_equal

REGION = """
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
"""

SOURCE = """
[[regions.xnys.sources]]
name = "{name}"
url = "https://e.example/{name}"
key = ["/symbol", "/date"]
key_names = ["symbol", "date"]
"""

FIELDS = {
    "numeric": '"numeric"',
    "numeric_comma": '{ at = "/comma", type = "numeric", decimal = "," }',
    "bigint": '"bigint"',
    "integer": '"integer"',
    "double": '"double precision"',
    "boolean": '"boolean"',
    "day": '"date"',
    "ts": '"timestamptz"',
    "ms": '{ at = "/ms", type = "timestamptz", format = "epoch_ms" }',
    "s": '{ at = "/s", type = "timestamptz", format = "epoch_s" }',
    "text": '"text"',
}

VIEW = 'offpeak_views."xnys.bars"'


def config(env, fields, sources=("bars",)):
    spec = ", ".join(f'"{k}" = {v}' for k, v in fields.items())
    return env.file("regions.toml", REGION + "".join(SOURCE.format(name=name) +
                                                     f"fields = {{ {spec} }}\n"
                                                     for name in sources))


def bar(symbol, date, record, fetched_at="2026-11-28T01:00:00Z", **top):
    record = {"symbol": symbol, "date": date, **record}
    return json.dumps({"region": "xnys", "source": "bars", "key": [symbol, date],
                       "fetched_at": fetched_at, "record": record, **top}) + "\n"


def counts(stderr):
    m = re.search(r"^offpeak-load: status=ok lines=(\d+) inserted=(\d+) updated=(\d+) "
                  r"unchanged=(\d+) duplicates=(\d+) stale=(\d+) rejected=(\d+)", stderr, re.M)
    check(m, f"no summary in:\n{stderr}")
    return dict(zip(["lines", "inserted", "updated", "unchanged", "duplicates", "stale",
                     "rejected"], map(int, m.groups())))


def load(env, *args, stdin):
    code, out, err = env.load(*args, stdin=stdin)
    check(code == 0, f"offpeak-load {' '.join(args)} exited {code}: {err}")
    return counts(err)


DDL = "SELECT * FROM ddl_log WHERE object NOT LIKE 'pg_temp.%'"  # the loader's own staging


def log_ddl(env):
    """A table that an event trigger fills with every DDL command run in the database."""
    env.psql("""
        CREATE TABLE ddl_log (tag text, object text);
        CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
            INSERT INTO ddl_log VALUES (r.command_tag, r.object_identity);
          END LOOP;
        END $$;
        CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();
    """)


def case_typed_view_reads_every_type(env):
    path = config(env, FIELDS)
    record = {"numeric": "-1.50", "comma": " 12,50 ", "bigint": "9223372036854775807", "integer": -2147483648,
              "double": "1.5e300", "boolean": " Yes ", "day": "2024-02-29",
              "ts": "2026-11-27 09:30:00.1234567-05:00", "ms": 1764277200123,
              "s": "1764277200.5", "text": {"a": [1, "x"]}}
    text = (bar("AAPL", "2026-11-27", record) +
            bar("MSFT", "2026-11-27", {"numeric": 1000, "comma": 1000, "bigint": 1000, "boolean": 0,
                                       "ms": "-62135596800000"}) +
            bar("X", "2026-11-27", {}))
    c = load(env, "--config", path, stdin=text)
    check_equal((c["inserted"], c["rejected"]), (3, 0), "inserted, rejected")
    columns = env.rows("SELECT column_name, data_type FROM information_schema.columns WHERE "
                       "table_schema = 'offpeak_views' AND table_name = 'xnys.bars' "
                       "ORDER BY ordinal_position")
    check_equal([c[0] for c in columns],
                ["symbol", "date", "bigint", "boolean", "day", "double", "integer", "ms",
                 "numeric", "numeric_comma", "s", "text", "ts", "deleted_at", "fetched_at",
                 "changed_at"],
                "the view's columns: key parts, fields, times")
    check_equal(dict(columns)["ms"], "timestamp with time zone", "ms's type")
    check_equal(dict(columns)["double"], "double precision", "double's type")
    rows = env.rows("SET TIME ZONE 'UTC'; SELECT symbol, date, numeric, numeric_comma, bigint, "
                    "integer, double, boolean, day, ts, ms, s, text, fetched_at "
                    f"FROM {VIEW} ORDER BY symbol")
    check_equal(rows, [
        ["AAPL", "2026-11-27", "-1.50", "12.50", "9223372036854775807", "-2147483648", "1.5e+300",
         "t", "2024-02-29", "2026-11-27 14:30:00.123457+00", "2025-11-27 21:00:00.123+00",
         "2025-11-27 21:00:00.5+00", '{"a": [1, "x"]}', "2026-11-28 01:00:00+00"],
        ["MSFT", "2026-11-27", "1000", "1000", "1000", "", "", "f", "", "",
         "0001-01-01 00:00:00+00", "", "", "2026-11-28 01:00:00+00"],
        ["X", "2026-11-27", "", "", "", "", "", "", "", "", "", "", "", "2026-11-28 01:00:00+00"],
    ], "typed values, NULL where missing or not declared that way")


# Values of each type: (JSON, whether the loader takes it). The view must read every row,
# and read a value exactly when the loader takes it.
VALUES = {
    "numeric": ['1', '-0.5', '"1.50"', '" 7 "', '"+.5"', '"5."', '"1e999"', '1e300',
                '"abc"', '""', '"NaN"', '"Infinity"', '"0x1F"', '"1_000"', '"1e1000"', '"1,5"',
                'true', '[1]', '{"a":1}', '"\\t1"', '"１"'],
    "bigint": ['9223372036854775807', '-9223372036854775808', '"+42"', '" 007 "', '1e3',
               '9223372036854775808', '"-9223372036854775809"', '1.5', '1.0', '100e-2',
               '"1.0"', '"1e3"', '"x"', '"99999999999999999999999999999999"', 'false'],
    "integer": ['2147483647', '"-2147483648"', '2147483648', '"2147483648"', '"12a"'],
    "double": ['0', '1e-307', '9.99e307', '"-1.5"', '1e308', '"1e-308"', '1e-400', '"-1e400"',
               '"inf"', '"nan"'],
    "boolean": ['true', 'false', '"TRUE"', '" no "', '"off"', '1', '0', '-0', '"1"', '2',
                '1.0', '"maybe"', '"tru"', '[true]'],
    "day": ['"2026-11-27"', '"2024-02-29"', '"0001-01-01"', '"9999-12-31"', '"2026-02-29"',
             '"2026-02-30"', '"2026-13-01"', '"0000-01-01"', '"2026-1-1"', '"10000-01-01"',
             '"2026-11-27T00:00:00Z"', '20261127', '"27/11/2026"', '"infinity"', '"today"'],
    "ts": ['"2026-11-27T14:30:00Z"', '"2026-11-27 14:30:00.123456789+05:30"',
           '"0001-01-01T00:00:00-15:59"', '"9999-12-31T23:59:59+00:00"',
           '"2026-11-27T24:00:00Z"', '"2026-11-27T14:30:60Z"', '"2026-11-27T14:30:00"',
           '"2026-11-27T14:30:00+16:00"', '"2026-02-30T00:00:00Z"', '"2026-11-27t14:30:00z"',
           '"epoch"', '"now"', '"294277-01-01T00:00:00Z"', '1764277200'],
    "ms": ['1764277200000', '"1764277200000"', '-62135596800000', '253402300799999',
           '1764277200000.5', '253402300800000', '-62135596800001', '1e20', '"1e20"',
           '"2026-11-27T14:30:00Z"', 'true', '9223372036854775807000'],
    "s": ['1764277200', '"1764277200.25"', '253402300799.999', '253402300800', '-1e12', '1e300'],
}


def case_typed_values_bad_lines_and_the_view_never_fails(env):
    # The same values twice: once checked by the loader, once loaded before the source
    # declared its fields (source "raw", declared afterwards), which the view must still read.
    checked, raw, expected = [], [], {}
    for field, values in VALUES.items():
        for i, value in enumerate(values):
            symbol = f"{field}-{i}"
            record = '{"symbol":' + json.dumps(symbol) + f',"{field}":{value}}}'
            checked.append('{"region":"xnys","source":"bars","key":[' + json.dumps(symbol) +
                           ',"d"],"record":' + record + '}\n')
            raw.append('{"region":"xnys","source":"raw","key":[' + json.dumps(symbol) +
                       ',"d"],"record":' + record + '}\n')
            expected[symbol] = (field, value)
    c = load(env, stdin="".join(raw))
    check_equal(c["inserted"], len(raw), "the raw lines, loaded without --config")
    path = config(env, FIELDS, sources=("bars", "raw"))
    c = load(env, "--config", path, "--reject-file", "bad.ndjson", stdin="".join(checked))
    with open(os.path.join(env.work, "bad.ndjson")) as f:
        rejects = {json.loads(json.loads(l)["text"])["key"][0]: json.loads(l)["reason"] for l in f}
    check_equal(c["rejected"], len(rejects), "one reject per bad line")
    check_equal(c["inserted"] + c["rejected"], len(checked), "every line loaded or rejected")
    for symbol, reason in rejects.items():
        field, value = expected[symbol]
        check(reason.startswith(f'field "{field}" ('), f"{symbol}: reason names the field: {reason}")
    for field, values in VALUES.items():
        taken = [v for i, v in enumerate(values) if f"{field}-{i}" not in rejects]
        check(0 < len(taken) < len(values), f"{field}: some values taken, some not: {taken}")
    for source in ("bars", "raw"):
        # The whole view reads, whatever the rows hold.
        env.psql(f'SELECT * FROM offpeak_views."xnys.{source}"')
    for field in VALUES:
        read = dict(env.rows(f'SELECT symbol, {field} IS NOT NULL FROM offpeak_views."xnys.raw" '
                             f"WHERE symbol LIKE '{field}-%'"))
        loaded = dict(env.rows(f"SELECT symbol, {field} IS NOT NULL FROM {VIEW} "
                               f"WHERE symbol LIKE '{field}-%'"))
        for i, value in enumerate(VALUES[field]):
            symbol = f"{field}-{i}"
            taken = symbol not in rejects
            check_equal(read[symbol] == "t", taken,
                        f"{field} {value}: the view reads it exactly when the loader takes it "
                        f"({rejects.get(symbol, 'taken')})")
            check_equal(loaded.get(symbol) == "t", taken, f"{field} {value} loaded and read")
    check_equal(env.rows(f"SELECT numeric FROM {VIEW} WHERE symbol = 'numeric-1'"), [["-0.5"]],
                "a value read")


def case_typed_view_replaced_only_when_declared_anew(env):
    path = config(env, {"close": '"numeric"'})
    lines = bar("AAPL", "2026-11-27", {"close": "189.5"})
    load(env, "--config", path, stdin=lines)
    log_ddl(env)
    oid = env.psql(f"SELECT '{VIEW}'::regclass::oid")
    c = load(env, "--config", path, stdin=lines)
    check_equal(c["unchanged"], 1, "unchanged")
    load(env, "--config", path, stdin=bar("AAPL", "2026-11-27", {"close": "190"}))
    check_equal(env.rows(DDL), [], "no DDL while the declaration is unchanged")
    check_equal(env.psql(f"SELECT '{VIEW}'::regclass::oid"), oid, "the same view")

    path = config(env, {"close": '"numeric"', "volume": '"bigint"'})
    load(env, "--config", path, stdin=bar("AAPL", "2026-11-27", {"close": "190", "volume": 7}))
    check(env.rows("SELECT * FROM ddl_log WHERE tag = 'CREATE VIEW'") ==
          [["CREATE VIEW", VIEW]], "the view is created again when a field is added")
    check_equal(env.rows(f"SELECT symbol, close, volume FROM {VIEW}"), [["AAPL", "190", "7"]],
                "the new column")
    env.psql("TRUNCATE ddl_log")
    load(env, "--config", path, stdin=lines)
    check_equal(env.rows(DDL), [], "and then no more DDL")
    # The table's deleted_at (vanished records) is in the view.
    check_equal(env.rows("SELECT column_name FROM information_schema.columns WHERE "
                         "table_name = 'xnys.bars' ORDER BY ordinal_position"),
                [["symbol"], ["date"], ["close"], ["volume"], ["deleted_at"], ["fetched_at"],
                 ["changed_at"]], "the view's columns with deleted_at")
    # A dry run changes no view.
    path = config(env, {"close": '"text"'})
    code, _, err = env.load("--config", path, "--dry-run", stdin=lines)
    check_equal(code, 0, f"dry run: {err}")
    check_equal(env.psql(f"SELECT data_type FROM information_schema.columns WHERE "
                         f"table_name = 'xnys.bars' AND column_name = 'close'"), "numeric",
                "the view after a dry run")


def case_typed_view_of_another_table(env):
    path = config(env, {"close": '"numeric"'})
    load(env, "--config", path, "--table", "market.bars",
         stdin=bar("AAPL", "2026-11-27", {"close": 2}))
    load(env, "--config", path, stdin=bar("AAPL", "2026-11-27", {"close": 1}))
    check_equal(env.rows('SELECT close FROM market_bars_views."xnys.bars"'), [["2"]],
                "the view of market.bars")
    check_equal(env.rows(f"SELECT close FROM {VIEW}"), [["1"]], "the view of offpeak.records")
    check_equal(env.psql("SELECT count(*) FROM pg_views WHERE viewname = 'xnys.bars'"), "2",
                "two views")


def case_typed_config_errors(env):
    path = env.file("bad.toml", REGION + SOURCE.format(name="bars") +
                    'fields = { close = "money" }\n')
    code, _, err = env.load("--config", path, stdin=bar("A", "d", {}))
    check_equal(code, 78, f"a config with errors: {err}")
    check('fields.close: the type must be one of' in err, f"the problem is named: {err}")
    check_equal(env.psql("SELECT count(*) FROM pg_database WHERE datname = current_database() "
                         "AND EXISTS (SELECT FROM pg_namespace WHERE nspname = 'offpeak')"), "0",
                "nothing done in the database")
    code, _, err = env.load("--config", "missing.toml", stdin="")
    check_equal(code, 78, f"a missing config: {err}")


def case_key_spacing(env):
    """Keys are stored minified: however a line spaces its key, the key's row is the same."""
    spaced = ('{"region":"xnys","source":"bars","key":[ "AAPL" ,\t"2026-11-27" ],'
              '"record":{"symbol":"AAPL","date":"2026-11-27","close":1}}\n')
    tight = ('{"region":"xnys","source":"bars","key":["AAPL","2026-11-27"],'
             '"record":{"symbol":"AAPL","date":"2026-11-27","close":1}}\n')
    path = config(env, {"close": '"numeric"'})
    c = load(env, "--config", path, stdin=spaced)
    check_equal(c["inserted"], 1, "inserted")
    c = load(env, "--config", path, stdin=tight)
    check_equal((c["inserted"], c["unchanged"]), (0, 1), "the same key however spaced")
    check_equal(env.rows("SELECT key FROM offpeak.records"), [['["AAPL","2026-11-27"]']],
                "stored minified")
    check_equal(env.rows("SELECT record FROM offpeak.records WHERE region = 'xnys' AND "
                         """source = 'bars' AND key = '["AAPL","2026-11-27"]'"""),
                [['{"date": "2026-11-27", "close": 1, "symbol": "AAPL"}']],
                "found by its minified text")
    check_equal(env.rows(f"SELECT close FROM {VIEW} WHERE symbol = 'AAPL' AND "
                         "date = '2026-11-27'"), [["1"]], "found by the view's key columns")


__all__ = [name for name in list(globals()) if name.startswith("case_")]
