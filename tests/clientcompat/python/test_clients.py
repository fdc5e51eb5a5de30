"""Python clients against a running sigmaflight node.

Run by TestPythonClients (python_test.go), which starts the real binary with a users file,
ingests 30 events into table `events` (host h<i%3>, event_id i, ts 2024-03-01T12:00:00Z + i s,
ok = i even), and passes the address and credentials in SIGMAFLIGHT_* variables.
"""
import datetime
import os

import adbc_driver_flightsql.dbapi as flight_sql
import adbc_driver_manager
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

URI = os.environ["SIGMAFLIGHT_URI"]
BASE = datetime.datetime(2024, 3, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def connect(user, password):
    return flight_sql.connect(URI, db_kwargs={"username": user, "password": password}, autocommit=True)


@pytest.fixture()
def reader():
    with connect("rita", "rita-secret") as conn:
        yield conn


@pytest.fixture()
def writer():
    with connect("wanda", "wanda-secret") as conn:
        yield conn


@pytest.fixture()
def admin():
    with connect("alice", "alice-secret") as conn:
        yield conn


def test_execute_with_parameters(reader):
    with reader.cursor() as cur:
        cur.execute("SELECT event_id FROM events WHERE host = ? AND event_id < ?", ("h1", 10))
        got = sorted(row[0] for row in cur.fetchall())
    assert got == [1, 4, 7]


def test_same_statement_other_parameters(reader):
    with reader.cursor() as cur:
        for host, want in (("h0", [0, 3]), ("h2", [2, 5])):
            cur.execute("SELECT event_id FROM events WHERE host = ? AND event_id < ?", (host, 6))
            assert sorted(r[0] for r in cur.fetchall()) == want


def test_fetch_arrow_table_types_and_timestamps(reader):
    with reader.cursor() as cur:
        cur.execute("SELECT ts, host, event_id, score, ok FROM events WHERE event_id < 3")
        table = cur.fetch_arrow_table()
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("host").type == pa.string()
    assert table.schema.field("event_id").type == pa.int64()
    rows = sorted(table.to_pylist(), key=lambda r: r["event_id"])
    assert [r["event_id"] for r in rows] == [0, 1, 2]
    assert rows[1]["ts"] == BASE + datetime.timedelta(seconds=1)
    assert rows[1]["host"] == "h1" and rows[1]["ok"] is False and rows[1]["score"] == 0.5


def test_pandas(reader):
    df = pd.read_sql("SELECT host, event_id FROM events", reader)
    assert len(df) == 30
    assert df.groupby("host")["event_id"].count().to_dict() == {"h0": 10, "h1": 10, "h2": 10}
    with reader.cursor() as cur:
        cur.execute("SELECT ts, event_id FROM events WHERE event_id = ?", (29,))
        one = cur.fetch_df()
    assert one["ts"].iloc[0] == pd.Timestamp("2024-03-01T12:00:29Z")


def test_polars(reader):
    df = pl.read_database("SELECT host, event_id, ts FROM events WHERE ok = true", connection=reader)
    assert df.height == 15
    assert df["event_id"].sum() == sum(range(0, 30, 2))
    assert df.schema["ts"] == pl.Datetime("us", "UTC")


def test_adbc_ingest_modes(writer, admin):
    data = pa.table({"host": ["a", "b", "c"], "n": pa.array([1, 2, 3], pa.int64())})
    with writer.cursor() as cur:
        assert cur.adbc_ingest("py_events", data, mode="create") == 3
        with pytest.raises(adbc_driver_manager.Error):
            cur.adbc_ingest("py_events", data, mode="create")  # exists: refused
        assert cur.adbc_ingest("py_events", data, mode="append") == 3
        assert cur.adbc_ingest("py_events", data, mode="create_append") == 3
        cur.execute("SELECT count(*) FROM py_events")
        assert cur.fetchone()[0] == 9
        # replace deletes the table's rows: admin only
        with pytest.raises(adbc_driver_manager.Error, match="needs role admin"):
            cur.adbc_ingest("py_events", data.slice(0, 1), mode="replace")
    with admin.cursor() as cur:
        assert cur.adbc_ingest("py_events", data.slice(0, 1), mode="replace") == 1
        cur.execute("SELECT count(*) FROM py_events")
        assert cur.fetchone()[0] == 1


def test_reader_cannot_ingest(reader):
    data = pa.table({"x": pa.array([1], pa.int64())})
    with reader.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error, match="needs role writer"):
            cur.adbc_ingest("forbidden", data, mode="create")


def test_get_objects_lists_columns(reader):
    objs = reader.adbc_get_objects(depth="all", table_name_filter="events").read_all().to_pylist()
    tables = {
        (db_schema["db_schema_name"], table["table_name"]): [c["column_name"] for c in table["table_columns"]]
        for catalog in objs
        for db_schema in catalog["catalog_db_schemas"]
        for table in db_schema["db_schema_tables"]
    }
    assert sorted(tables[("public", "events")]) == ["event_id", "host", "ok", "score", "ts"]


def test_token_as_password():
    token = os.environ["SIGMAFLIGHT_TOKEN"]
    with connect("anyone", token) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM events")
        assert cur.fetchone()[0] == 30


def test_wrong_password_is_refused():
    with pytest.raises(adbc_driver_manager.Error, match="(?i)invalid username or password"):
        with connect("rita", "wrong") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
