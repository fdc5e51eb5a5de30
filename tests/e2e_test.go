package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// hitsFixture is what detect('examples') must return on one recording: rule title to the
// number of matching events. The counts were established independently of sigmaflight, by
// reading the recording with jq-like filters written from each rule's text (see the
// "how" field of the fixture).
type hitsFixture struct {
	Recording string `json:"recording"`
	How       string `json:"how"`
	Hits      []struct {
		Title string `json:"title"`
		Level string `json:"level"`
		Count int64  `json:"count"`
	} `json:"hits"`
}

// counts returns title=count for the rules of the given level ("" for all).
func (f hitsFixture) counts(level string) map[string]int64 {
	m := map[string]int64{}
	for _, h := range f.Hits {
		if level == "" || h.Level == level {
			m[h.Title] += h.Count
		}
	}
	return m
}

func countTitles(titles []string) map[string]int64 {
	m := map[string]int64{}
	for _, title := range titles {
		m[title]++
	}
	return m
}

func loadHitsFixture(t *testing.T) hitsFixture {
	t.Helper()
	data, err := os.ReadFile("testdata/examples_hits.json")
	if err != nil {
		t.Fatal(err)
	}
	var f hitsFixture
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestStandaloneEndToEnd is the skeleton's vertical slice: ingest an OTRF recording with
// Flight SQL bulk ingest, then query it and run the example ruleset through the real ADBC
// driver.
func TestStandaloneEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fix := loadHitsFixture(t)
	n := startNode(t, t.TempDir())

	events := readRecording(t, fix.Recording)
	rdr, err := events.Reader(memory.DefaultAllocator, 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	lines := countLines(t, fix.Recording)
	if got := ingest(ctx, t, n.flightSQLClient(), "events", rdr); got != lines {
		t.Fatalf("ingest acknowledged %d rows; want %d (lines in %s)", got, lines, fix.Recording)
	}

	cnxn := n.adbcConn(ctx)
	if got := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM events`)); got != lines {
		t.Fatalf("SELECT count(*) = %d; want %d", got, lines)
	}

	got := countTitles(stringColumn(t, queryADBC(ctx, t, cnxn, `SELECT rule_title FROM detect('examples')`), 0))
	if want := fix.counts(""); fmt.Sprint(sortedCounts(got)) != fmt.Sprint(sortedCounts(want)) {
		t.Fatalf("detect('examples') hits:\n got %v\nwant %v", sortedCounts(got), sortedCounts(want))
	}

	// The table may be named explicitly, and a filter on a rule column applies.
	high := queryADBC(ctx, t, cnxn, `SELECT rule_title FROM detect('examples', 'events') WHERE rule_level = 'high'`)
	got = countTitles(stringColumn(t, high, 0))
	if want := fix.counts("high"); fmt.Sprint(sortedCounts(got)) != fmt.Sprint(sortedCounts(want)) {
		t.Fatalf("detect('examples', 'events') WHERE rule_level = 'high':\n got %v\nwant %v", sortedCounts(got), sortedCounts(want))
	}
}

func sortedCounts(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// TestAcknowledgedRowsSurviveSIGKILL ingests batches one by one, kills the server with
// SIGKILL right after the last acknowledgement, restarts it on the same data directory and
// checks that every acknowledged row is there, batch by batch.
func TestAcknowledgedRowsSurviveSIGKILL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	n := startNode(t, dir)
	client := n.flightSQLClient()

	const batches, rowsPerBatch = 20, 500
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "batch_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "CommandLine", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	var acked int64
	for b := 0; b < batches; b++ {
		bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		for i := 0; i < rowsPerBatch; i++ {
			bld.Field(0).(*array.Int64Builder).Append(int64(b))
			bld.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("cmd.exe /c echo %d-%d", b, i))
		}
		rec := bld.NewRecordBatch()
		bld.Release()
		rdr, _ := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
		rec.Release()
		acked += ingest(ctx, t, client, "crash", rdr)
		rdr.Release()
	}
	n.kill() // SIGKILL straight after the last acknowledgement: no shutdown path runs.

	n2 := startNode(t, dir)
	cnxn := n2.adbcConn(ctx)
	if got := scalarInt64(t, queryADBC(ctx, t, cnxn, `SELECT count(*) FROM crash`)); got != acked {
		t.Fatalf("after SIGKILL and restart: count(*) = %d; want %d acknowledged rows", got, acked)
	}
	for _, b := range []int{0, batches / 2, batches - 1} {
		q := fmt.Sprintf(`SELECT count(*) FROM crash WHERE batch_id = %d`, b)
		if got := scalarInt64(t, queryADBC(ctx, t, cnxn, q)); got != rowsPerBatch {
			t.Fatalf("batch %d: %d rows after restart; want %d", b, got, rowsPerBatch)
		}
	}
}

// TestHTTPEndpoints checks health, readiness and the Prometheus metrics after an ingest.
func TestHTTPEndpoints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := startNode(t, t.TempDir())
	events := readRecording(t, "cmd_seatbelt_group_user.zip")
	rdr, err := events.Reader(memory.DefaultAllocator, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	rows := ingest(ctx, t, n.flightSQLClient(), "events", rdr)

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + n.httpAddr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("/healthz: got %d %q; want 200 ok", code, body)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("/readyz: got %d; want 200", code)
	}
	_, metrics := get("/metrics")
	want := fmt.Sprintf("sigmaflight_ingest_rows_total %d", rows)
	if !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %q", want)
	}
	if !strings.Contains(metrics, "sigmaflight_tables 1") {
		t.Fatalf("/metrics lacks sigmaflight_tables 1")
	}
	n.stop()
}

// TestVersionCommand checks `sigmaflight version` prints version, commit and Go version.
func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(binary, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`(?m)^sigmaflight \S+\ncommit: \S+\nbuilt: \S+\ngo: go1\.\d+`)
	if !re.Match(out) {
		t.Fatalf("version output %q does not match %s", out, re)
	}
}

// TestServeRefusesExposedAddressWithoutOptIn checks the secure default: a non-loopback
// listen address is refused until TLS and auth exist, unless explicitly allowed.
func TestServeRefusesExposedAddressWithoutOptIn(t *testing.T) {
	cmd := exec.Command(binary, "serve", "--data-dir", filepath.Join(t.TempDir(), "d"), "--listen", "0.0.0.0:0", "--http-listen", "")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve on 0.0.0.0 without --insecure succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "not a loopback address") || !strings.Contains(string(out), "--insecure") ||
		!strings.Contains(string(out), "TLS") || !strings.Contains(string(out), "authentication") {
		t.Fatalf("error does not explain the refusal:\n%s", out)
	}
}
