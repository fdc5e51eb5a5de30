package planner

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestOracle runs the semantic suite (oracleQueries) through sigmaflight and through
// DuckDB (tests/sqloracle/oracle.py, installed from tests/sqloracle/requirements.txt) on
// the same data, and compares the results: in order when the query has a top-level
// ORDER BY, as multisets otherwise. DuckDB is the independent engine: no expected
// result here comes from sigmaflight.
func TestOracle(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is needed for the DuckDB oracle: %v", err)
	}
	dir := t.TempDir()
	cat := newMemCatalog()
	tables := map[string]any{}
	for _, tb := range oracleTables(t) {
		cat.addTable(tb.name, tb.rec)
		writeOracleCSV(t, filepath.Join(dir, tb.name+".csv"), tb)
		tables[tb.name] = map[string]any{"columns": tb.duck, "csv": tb.name + ".csv"}
	}
	p := New(cat, Options{Parallelism: 3})
	queries := oracleQueries()
	if len(queries) < 200 {
		t.Fatalf("the suite has %d queries; the acceptance needs at least 200", len(queries))
	}
	duckSQL := make([]string, len(queries))
	for i, q := range queries {
		duckSQL[i] = q
		if ours, duck, ok := strings.Cut(q, " ||| "); ok {
			queries[i], duckSQL[i] = ours, duck
		}
	}
	mustWriteJSON(t, filepath.Join(dir, "tables.json"), tables)
	mustWriteJSON(t, filepath.Join(dir, "queries.json"), duckSQL)
	cmd := exec.Command("python3", filepath.Join("..", "tests", "sqloracle", "oracle.py"), dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("DuckDB oracle failed (pip install -r tests/sqloracle/requirements.txt): %v\n%s", err, out)
	}
	var results []struct {
		Rows  [][]string `json:"rows"`
		Error string     `json:"error"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, q := range queries {
		want := results[i]
		if want.Error != "" {
			t.Errorf("query %d: DuckDB failed on %q: %s", i, duckSQL[i], want.Error)
			failed++
			continue
		}
		got, err := oracleRun(p, q)
		if err != nil {
			t.Errorf("query %d: %s\n  error: %v", i, q, err)
			failed++
			continue
		}
		wantRows := make([]string, len(want.Rows))
		for k, r := range want.Rows {
			wantRows[k] = strings.Join(r, "|")
		}
		if !hasTopLevelOrderBy(q) {
			sort.Strings(got)
			sort.Strings(wantRows)
		}
		if strings.Join(got, "\n") != strings.Join(wantRows, "\n") {
			t.Errorf("query %d: %s\n  got  %v\n  want %v", i, q, clip(got), clip(wantRows))
			failed++
		}
	}
	t.Logf("%d queries compared with DuckDB, %d failed", len(queries), failed)
}

func clip(rows []string) []string {
	if len(rows) > 12 {
		return append(rows[:12:12], fmt.Sprintf("... (%d rows)", len(rows)))
	}
	return rows
}

// hasTopLevelOrderBy reports whether the outermost query orders its rows.
func hasTopLevelOrderBy(q string) bool {
	toks, err := lexSQL(q)
	if err != nil {
		return false
	}
	depth := 0
	for _, tk := range toks {
		switch {
		case tk.isPunct("("):
			depth++
		case tk.isPunct(")"):
			depth--
		case depth == 0 && tk.is("ORDER"):
			return true
		}
	}
	return false
}

// oracleRun runs q and renders its rows like oracle.py.
func oracleRun(p *Planner, q string) ([]string, error) {
	rr, err := p.Query(context.Background(), q)
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	var rows []string
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			parts := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				parts[j] = oracleValue(c, i)
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
	}
	return rows, rr.Err()
}

func oracleValue(c arrow.Array, i int) string {
	if c.IsNull(i) {
		return "NULL"
	}
	switch a := c.(type) {
	case *array.Float64:
		f := a.Value(i)
		switch {
		case f != f:
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		case f == 0:
			return "0"
		}
		return strconv.FormatFloat(f, 'g', 9, 64)
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC().Format("2006-01-02 15:04:05.999999")
	}
	return c.ValueStr(i)
}

func mustWriteJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oracleTable is a test table in both engines.
type oracleTable struct {
	name string
	rec  arrow.RecordBatch
	duck [][2]string // column name, DuckDB type
}

func writeOracleCSV(t *testing.T, path string, tb oracleTable) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	var header []string
	for _, c := range tb.duck {
		header = append(header, c[0])
	}
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < int(tb.rec.NumRows()); i++ {
		var row []string
		for _, c := range tb.rec.Columns() {
			switch {
			case c.IsNull(i):
				row = append(row, `\N`)
			case c.DataType().ID() == arrow.TIMESTAMP:
				row = append(row, time.UnixMicro(int64(c.(*array.Timestamp).Value(i))).UTC().Format("2006-01-02 15:04:05.999999"))
			case c.DataType().ID() == arrow.FLOAT64:
				row = append(row, strconv.FormatFloat(c.(*array.Float64).Value(i), 'g', -1, 64))
			default:
				row = append(row, c.ValueStr(i))
			}
		}
		if err := w.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
}

// oracleTables builds the suite's tables deterministically: ev (300 process events on
// 4 hosts with NULLs in most columns) and proc (process names by pid, for joins).
func oracleTables(t *testing.T) []oracleTable {
	seed := uint64(42)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int((seed >> 33) % uint64(n))
	}
	hosts := []string{"WS01", "ws02", "DC01", "srv-03"}
	users := []string{"alice", "bob", "SYSTEM", "Carol", "dave"}
	images := []string{`C:/Windows/System32/cmd.exe`, `C:/Windows/System32/whoami.exe`, `C:/Windows/explorer.exe`,
		`C:/Program Files/App/app.exe`, `/usr/bin/bash`, `C:/Windows/System32/WindowsPowerShell/v1.0/powershell.exe`}
	cmds := []string{"cmd /c whoami", "powershell -enc SQBFAFgA", "explorer.exe", "bash -c 'id'", "net user admin /add", "app.exe --update", "whoami /all"}
	n := 300
	var ids, eventIDs, pids, ppids []any
	var hostV, userV, imageV, cmdV, scoreV, okV, tsV []any
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		ids = append(ids, i+1)
		eventIDs = append(eventIDs, []int{4688, 4624, 1, 4688, 4625, 3}[rnd(6)])
		hostV = append(hostV, hosts[rnd(len(hosts))])
		if rnd(10) == 0 {
			userV = append(userV, nil)
		} else {
			userV = append(userV, users[rnd(len(users))])
		}
		if rnd(12) == 0 {
			pids = append(pids, nil)
		} else {
			pids = append(pids, 100+rnd(40)*4)
		}
		if rnd(8) == 0 {
			ppids = append(ppids, nil)
		} else {
			ppids = append(ppids, 100+rnd(40)*4)
		}
		if rnd(15) == 0 {
			imageV = append(imageV, nil)
		} else {
			imageV = append(imageV, images[rnd(len(images))])
		}
		cmdV = append(cmdV, cmds[rnd(len(cmds))])
		if rnd(7) == 0 {
			scoreV = append(scoreV, nil)
		} else {
			scoreV = append(scoreV, float64(rnd(2000)-500)/8)
		}
		switch rnd(5) {
		case 0:
			okV = append(okV, nil)
		case 1, 2:
			okV = append(okV, true)
		default:
			okV = append(okV, false)
		}
		if rnd(20) == 0 {
			tsV = append(tsV, nil)
		} else {
			ts := base.Add(time.Duration(rnd(7*24*3600))*time.Second + time.Duration(rnd(1000))*time.Millisecond)
			tsV = append(tsV, ts.Format(time.RFC3339Nano))
		}
	}
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	ev := mustBatch(t,
		col{"id", arrow.PrimitiveTypes.Int64, ids},
		col{"host", arrow.BinaryTypes.String, hostV},
		col{"account", arrow.BinaryTypes.String, userV},
		col{"EventID", arrow.PrimitiveTypes.Int64, eventIDs},
		col{"pid", arrow.PrimitiveTypes.Int32, pids},
		col{"ppid", arrow.PrimitiveTypes.Int32, ppids},
		col{"image", arrow.BinaryTypes.String, imageV},
		col{"cmd", arrow.BinaryTypes.String, cmdV},
		col{"score", arrow.PrimitiveTypes.Float64, scoreV},
		col{"ok", arrow.FixedWidthTypes.Boolean, okV},
		col{"ts", ts, tsV},
	)
	var ppid, pname, pparent []any
	for i := 0; i < 30; i++ {
		ppid = append(ppid, 100+i*4)
		pname = append(pname, []string{"cmd.exe", "explorer.exe", "services.exe", "svchost.exe", "bash"}[rnd(5)])
		if i%6 == 5 {
			pparent = append(pparent, nil)
		} else {
			pparent = append(pparent, 100+rnd(30)*4)
		}
	}
	proc := mustBatch(t,
		col{"pid", arrow.PrimitiveTypes.Int32, ppid},
		col{"name", arrow.BinaryTypes.String, pname},
		col{"parent", arrow.PrimitiveTypes.Int32, pparent},
	)
	return []oracleTable{
		{name: "ev", rec: ev, duck: [][2]string{{"id", "BIGINT"}, {"host", "VARCHAR"}, {"account", "VARCHAR"}, {"EventID", "BIGINT"},
			{"pid", "INTEGER"}, {"ppid", "INTEGER"}, {"image", "VARCHAR"}, {"cmd", "VARCHAR"}, {"score", "DOUBLE"}, {"ok", "BOOLEAN"}, {"ts", "TIMESTAMP"}}},
		{name: "proc", rec: proc, duck: [][2]string{{"pid", "INTEGER"}, {"name", "VARCHAR"}, {"parent", "INTEGER"}}},
	}
}
