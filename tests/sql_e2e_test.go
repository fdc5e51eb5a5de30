package tests

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rawEvents decodes every line of an OTRF recording with encoding/json, independently of
// sigmaflight's reader, for expected values.
func rawEvents(t *testing.T, name string) []map[string]any {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tableRows renders a result table as "v1|v2" rows (NULL for nulls).
func tableRows(tbl arrow.Table) []string {
	var rows []string
	rr := array.NewTableReader(tbl, 1<<20)
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			parts := make([]string, rec.NumCols())
			for j, c := range rec.Columns() {
				if c.IsNull(i) {
					parts[j] = "NULL"
				} else {
					parts[j] = c.ValueStr(i)
				}
			}
			rows = append(rows, strings.Join(parts, "|"))
		}
	}
	return rows
}

// TestSQLThroughFlight runs the SQL that hunts and BI tools send through the real binary
// and the ADBC driver, with expected values computed from the raw recording.
func TestSQLThroughFlight(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	fix := loadHitsFixture(t)
	n := startNode(t, t.TempDir())
	events := readRecording(t, fix.Recording)
	rdr, err := events.Reader(memory.DefaultAllocator, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	ingest(ctx, t, n.flightSQLClient(), "events", rdr)
	raw := rawEvents(t, fix.Recording)
	cnxn := n.adbcConn(ctx)

	// Expected per-EventID and per-Channel counts, from the raw JSON.
	byEvent := map[string]int64{}
	byChannel := map[string]int64{}
	for _, e := range raw {
		byEvent[fmt.Sprint(e["EventID"])]++
		byChannel[fmt.Sprint(e["Channel"])]++
	}

	t.Run("group by event id", func(t *testing.T) {
		rows := tableRows(queryADBC(ctx, t, cnxn, `SELECT "EventID", count(*) AS n FROM events GROUP BY "EventID" ORDER BY n DESC, "EventID"`))
		if len(rows) != len(byEvent) {
			t.Fatalf("got %d groups; want %d", len(rows), len(byEvent))
		}
		for _, r := range rows {
			id, cnt, _ := strings.Cut(r, "|")
			if fmt.Sprint(byEvent[id]) != cnt {
				t.Fatalf("EventID %s: count %s; want %d", id, cnt, byEvent[id])
			}
		}
	})

	t.Run("superset wrapped subquery", func(t *testing.T) {
		// Superset's chart query: the dataset wrapped in a subquery, quoted names, LIMIT outside.
		sql := `SELECT "Channel" AS "Channel", count(*) AS "count" FROM (SELECT * FROM events) AS "virtual_table" GROUP BY "Channel" ORDER BY "count" DESC LIMIT 10000`
		rows := tableRows(queryADBC(ctx, t, cnxn, sql))
		if len(rows) != len(byChannel) {
			t.Fatalf("got %d channels; want %d", len(rows), len(byChannel))
		}
		for _, r := range rows {
			ch, cnt, _ := strings.Cut(r, "|")
			if fmt.Sprint(byChannel[ch]) != cnt {
				t.Fatalf("channel %s: %s; want %d", ch, cnt, byChannel[ch])
			}
		}
	})

	t.Run("grafana time buckets", func(t *testing.T) {
		rows := tableRows(queryADBC(ctx, t, cnxn, `SELECT date_trunc('minute', ts) AS "time", count(*) AS "events" FROM events GROUP BY 1 ORDER BY 1`))
		var total int64
		prev := ""
		for _, r := range rows {
			tm, cnt, _ := strings.Cut(r, "|")
			if prev != "" && tm <= prev {
				t.Fatalf("buckets not ordered: %s after %s", tm, prev)
			}
			prev = tm
			var c int64
			fmt.Sscan(cnt, &c)
			total += c
		}
		if total != int64(len(raw)) {
			t.Fatalf("bucket counts sum to %d; want %d events", total, len(raw))
		}
	})

	t.Run("detect with group by", func(t *testing.T) {
		rows := tableRows(queryADBC(ctx, t, cnxn, `SELECT rule_title, count(*) FROM detect('examples') GROUP BY rule_title`))
		want := fix.counts("")
		if len(rows) != len(want) {
			t.Fatalf("got %v; want %v", rows, want)
		}
		for _, r := range rows {
			title, cnt, _ := strings.Cut(r, "|")
			if fmt.Sprint(want[title]) != cnt {
				t.Fatalf("rule %q: %s hits; want %d", title, cnt, want[title])
			}
		}
	})

	t.Run("inline sigma rule", func(t *testing.T) {
		// Expected: Sysmon process creations (EventID 1) whose Image ends with whoami.exe.
		var want int64
		for _, e := range raw {
			img, _ := e["Image"].(string)
			if fmt.Sprint(e["EventID"]) == "1" && strings.HasSuffix(strings.ToLower(img), `\whoami.exe`) {
				want++
			}
		}
		rule := `title: whoami
logsource: {product: windows}
detection:
  sel:
    EventID: 1
    Image|endswith: '\whoami.exe'
  condition: sel`
		got := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM events WHERE sigma('`+strings.ReplaceAll(strings.ReplaceAll(rule, `\`, `\\`), "'", "''")+`')`))
		if got != want {
			t.Fatalf("sigma() matched %d events; want %d", got, want)
		}
	})

	t.Run("system tables", func(t *testing.T) {
		rules := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM sys.rules WHERE ruleset = 'examples'`))
		if rs := tableRows(queryADBC(ctx, t, cnxn, `SELECT name, rule_count FROM sys.rulesets WHERE name = 'examples'`)); len(rs) != 1 || rs[0] != fmt.Sprintf("examples|%d", rules) || rules == 0 {
			t.Fatalf("sys.rulesets: %v; want examples|%d", rs, rules)
		}
		if rs := tableRows(queryADBC(ctx, t, cnxn, `SELECT table_name, row_count FROM sys.tables WHERE table_schema = 'public'`)); len(rs) != 1 || rs[0] != fmt.Sprintf("events|%d", len(raw)) {
			t.Fatalf("sys.tables: %v; want events|%d", rs, len(raw))
		}
		if c := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM sys.columns WHERE table_name = 'events' AND column_name IN ('EventID', 'Channel', 'ts')`)); c != 3 {
			t.Fatalf("sys.columns has %d of EventID, Channel, ts; want 3", c)
		}
		q := queryADBC(ctx, t, cnxn, `SELECT state, row_count FROM sys.queries WHERE sql_text LIKE '%GROUP BY "EventID"%' AND sql_text NOT LIKE '%sys.queries%'`)
		if rs := tableRows(q); len(rs) != 1 || rs[0] != fmt.Sprintf("done|%d", len(byEvent)) {
			t.Fatalf("sys.queries: %v; want done|%d", rs, len(byEvent))
		}
	})

	t.Run("explain", func(t *testing.T) {
		plan := strings.Join(stringColumn(t, queryADBC(ctx, t, cnxn, `EXPLAIN SELECT rule_title, count(*) FROM detect('examples') WHERE rule_level = 'high' GROUP BY rule_title`), 0), "\n")
		for _, want := range []string{"Fragment 1 (leaf, parallel)", "Aggregate partial", "Aggregate final", "pruned-by=[rule_level = 'high']"} {
			if !strings.Contains(plan, want) {
				t.Fatalf("EXPLAIN lacks %q:\n%s", want, plan)
			}
		}
	})
}

// TestQueryLimitsLeaveNodeHealthy shows that a query over the memory limit fails with a
// clear error and a cancelled query stops, and that the node answers afterwards.
func TestQueryLimitsLeaveNodeHealthy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := startNode(t, t.TempDir(), "--query-memory-bytes", "67108864")
	events := readRecording(t, "empire_dcom_shellwindows_stager.zip")
	rdr, err := events.Reader(memory.DefaultAllocator, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	rows := ingest(ctx, t, n.flightSQLClient(), "events", rdr)
	cnxn := n.adbcConn(ctx)

	// A join on a low-cardinality key explodes: it fails at the configured limit (64 MiB)
	// with ResourceExhausted instead of exhausting memory.
	err = runADBC(ctx, cnxn, `SELECT count(*) FROM events a JOIN events b ON a."Channel" = b."Channel"`)
	if err == nil || !strings.Contains(err.Error(), "memory limit") || !strings.Contains(err.Error(), "ResourceExhausted") {
		t.Fatalf("exploding join: got %v; want a ResourceExhausted memory limit error", err)
	}
	t.Logf("exploding join: %v", err)

	// A long query cancelled by its client's deadline stops. The query cannot finish
	// on any machine: 512 copies (a CTE doubled 9 times) of a cross join of every
	// event with 2,000 others whose condition holds for none, so LIMIT 1 never stops
	// it early; the deadline does.
	long := `WITH x0 AS (SELECT a."EventID" FROM events a, (SELECT "EventID" FROM events LIMIT 2000) b WHERE a."EventID" * b."EventID" = -1)`
	for i := 1; i <= 9; i++ {
		long += fmt.Sprintf(`, x%d AS (SELECT * FROM x%d UNION ALL SELECT * FROM x%d)`, i, i-1, i-1)
	}
	long += ` SELECT * FROM x9 LIMIT 1`
	qctx, qcancel := context.WithTimeout(ctx, 500*time.Millisecond)
	start := time.Now()
	err = runADBC(qctx, cnxn, long)
	qcancel()
	if err == nil {
		t.Fatalf("the endless query finished within its 500ms deadline")
	}
	// Generous: the node checks cancellation between batches (at most one cross join
	// batch, well under a second), but the machine may be busy.
	if el := time.Since(start); el > 60*time.Second {
		t.Fatalf("the cancelled query took %s to end", el)
	}

	// The node is healthy and answers.
	resp, err := http.Get("http://" + n.httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz after the failures: %d %q", resp.StatusCode, body)
	}
	if got := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM events`)); got != rows {
		t.Fatalf("count(*) after the failures = %d; want %d", got, rows)
	}
	// The server-side query ends too: sys.queries shows no running query but this one.
	deadline := time.Now().Add(20 * time.Second)
	for {
		running := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM sys.queries WHERE state = 'running'`))
		if running == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d queries still running on the node", running)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runADBC runs sql to the end and returns its error.
func runADBC(ctx context.Context, cnxn adbc.Connection, sql string) error {
	stmt, err := cnxn.NewStatement()
	if err != nil {
		return err
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery(sql); err != nil {
		return err
	}
	rdr, _, err := stmt.ExecuteQuery(ctx)
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Err()
}
