#!/usr/bin/env python3
"""Independent SQL oracle for the planner's semantic test suite.

Usage: oracle.py DIR

DIR holds tables.json ({"name": {"columns": [[name, duckdb_type], ...], "csv": "file"}}),
the CSV files (header row, NULL written as \\N) and queries.json (a list of SQL strings).
The script loads the tables into an in-memory DuckDB database, runs every query and
writes results.json: one {"rows": [[text, ...], ...]} or {"error": "..."} per query,
values rendered the way the Go test renders sigmaflight's results:
NULL -> "NULL", booleans -> true/false, floats -> %.9g (inf, -inf, nan),
timestamps -> "YYYY-MM-DD HH:MM:SS[.ffffff without trailing zeros]".
"""
import datetime
import decimal
import json
import math
import os
import sys

import duckdb


def render(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if v == 0:
            return "0"
        return "%.9g" % v
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        s = v.strftime("%Y-%m-%d %H:%M:%S")
        if v.microsecond:
            s += ("." + "%06d" % v.microsecond).rstrip("0")
        return s
    if isinstance(v, datetime.date):
        return v.strftime("%Y-%m-%d") + " 00:00:00"
    return str(v)


def main():
    d = sys.argv[1]
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    with open(os.path.join(d, "tables.json")) as f:
        tables = json.load(f)
    for name, t in tables.items():
        cols = ", ".join('"%s" %s' % (c, typ) for c, typ in t["columns"])
        con.execute('CREATE TABLE "%s" (%s)' % (name, cols))
        types = "{" + ", ".join("'%s': '%s'" % (c, typ) for c, typ in t["columns"]) + "}"
        path = os.path.join(d, t["csv"])
        con.execute(
            "INSERT INTO \"%s\" SELECT * FROM read_csv('%s', header=true, nullstr='\\N', columns=%s, quote='\"', escape='\"')"
            % (name, path, types)
        )
    with open(os.path.join(d, "queries.json")) as f:
        queries = json.load(f)
    out = []
    for q in queries:
        try:
            rows = con.execute(q).fetchall()
            out.append({"rows": [[render(v) for v in r] for r in rows]})
        except Exception as e:  # the Go test reports it with the query
            out.append({"error": str(e)})
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
