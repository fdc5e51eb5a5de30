package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ingestTime is the fixed clock of these tests.
var ingestTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openWith(tb testing.TB, dir string, opts Options) *Store {
	tb.Helper()
	opts.Dir = dir
	if opts.now == nil {
		opts.now = func() time.Time { return ingestTime }
	}
	if opts.MaintenanceInterval == 0 {
		opts.MaintenanceInterval = -1
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// scanTS returns the ts column of a full scan, microseconds.
func scanTS(tb testing.TB, tbl *Table) []int64 {
	tb.Helper()
	it, err := tbl.Scan(context.Background(), ScanOptions{Columns: []string{TSColumn}})
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Close()
	var out []int64
	for {
		rec, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		for _, v := range rec.Column(0).(*array.Timestamp).TimestampValues() {
			out = append(out, int64(v))
		}
	}
}

func TestTSColumn(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	n := 0
	f := func(want time.Time, cols ...col) {
		t.Helper()
		n++
		name := fmt.Sprintf("t%d", n)
		b := mkBatch(cols...)
		defer b.Release()
		mustWrite(t, s, name, b)
		tbl := mustTable(t, s, name)
		if f0 := tbl.Schema().Field(0); f0.Name != TSColumn || !arrow.TypeEqual(f0.Type, tsType) {
			t.Fatalf("%v: first column %v; want ts timestamp[us, UTC]", cols, f0)
		}
		if got := scanTS(t, tbl); len(got) != 1 || got[0] != want.UnixMicro() {
			t.Fatalf("%v: ts got %v; want [%d] (%s)", cols, got, want.UnixMicro(), want)
		}
	}
	d := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	f(d("2020-11-02T04:39:08.64Z"), col{"@timestamp", []string{"2020-11-02T04:39:08.640Z"}})
	f(d("2020-11-02T04:39:08.64Z"), col{"TimeCreated", []string{"2020-11-02T04:39:08.640Z"}}, col{"x", []int64{1}})
	f(d("2020-11-02T04:39:08.123456Z"), col{"UtcTime", []string{"2020-11-02 04:39:08.123456"}})
	f(d("2020-11-02T02:39:08Z"), col{"timestamp", []string{"2020-11-02T04:39:08+02:00"}})
	// ts wins over @timestamp; an unparseable value falls through to the next field.
	f(d("2021-01-01T00:00:00Z"), col{"@timestamp", []string{"2020-11-02T04:39:08Z"}}, col{"ts", []string{"2021-01-01T00:00:00Z"}})
	f(d("2020-11-02T04:39:08Z"), col{"ts", []string{"yesterday"}}, col{"@timestamp", []string{"2020-11-02T04:39:08Z"}})
	// None present, or all null: the ingest time.
	f(ingestTime, col{"Hostname", []string{"h"}})
	f(ingestTime, col{"@timestamp", []any{nil}})
	// A ts column given as a timestamp is converted to microseconds, UTC.
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"})
	tb.Append(arrow.Timestamp(d("2022-05-06T07:08:09.123Z").UnixMilli()))
	ts := tb.NewArray()
	tb.Release()
	defer ts.Release()
	f(d("2022-05-06T07:08:09.123Z"), col{"ts", ts})

	// A ts column of another type is refused, naming the column.
	b := mkBatch(col{"ts", []int64{5}})
	defer b.Release()
	if _, err := s.Write(context.Background(), "bad", appendOpts, []arrow.RecordBatch{b}); !errors.Is(err, ErrInvalidBatch) || !strings.Contains(err.Error(), `"ts"`) {
		t.Fatalf("int64 ts: got %v; want ErrInvalidBatch naming ts", err)
	}
	// Per-table time fields.
	s2 := openWith(t, t.TempDir(), Options{Tables: map[string]TableOptions{"x": {TimeFields: []string{"when"}}}})
	defer mustClose(t, s2)
	b2 := mkBatch(col{"@timestamp", []string{"2020-01-01T00:00:00Z"}}, col{"when", []string{"2019-01-01T00:00:00Z"}})
	defer b2.Release()
	mustWrite(t, s2, "x", b2)
	mustWrite(t, s2, "y", b2)
	if got := scanTS(t, mustTable(t, s2, "x")); got[0] != d("2019-01-01T00:00:00Z").UnixMicro() {
		t.Fatalf("table x with TimeFields [when]: got %d", got[0])
	}
	if got := scanTS(t, mustTable(t, s2, "y")); got[0] != d("2020-01-01T00:00:00Z").UnixMicro() {
		t.Fatalf("table y with defaults: got %d", got[0])
	}
}

// hourlyBatch returns rows events, one per host per hour from base, with an id column.
func hourlyBatch(base time.Time, hours int, hosts []string, idPrefix string) arrow.RecordBatch {
	var ts, host, id []string
	var n []int64
	for h := range hours {
		for i, hn := range hosts {
			ts = append(ts, base.Add(time.Duration(h)*time.Hour+time.Duration(i)*time.Minute).Format(time.RFC3339Nano))
			host = append(host, hn)
			id = append(id, fmt.Sprintf("%s-%04d-%s", idPrefix, h, hn))
			n = append(n, int64(h))
		}
	}
	return mkBatch(col{"@timestamp", ts}, col{"Hostname", host}, col{"id", id}, col{"hour", n})
}

// TestSealAndPrune seals 100 hours of events from 8 hosts into segments and checks
// that: every row reads back the same after the seal and after a reopen; segments never
// span a window; a time-range scan over one hour reads only that window's segments; a
// predicate on the host prunes by zone maps; the WAL generations are gone.
func TestSealAndPrune(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{TableDefaults: TableOptions{Shards: 4, RowGroupRows: 50}}
	s := openWith(t, dir, opts)
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	hosts := []string{"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"}
	b := hourlyBatch(base, 100, hosts, "x")
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	before := scanRows(t, tbl, []string{"id", "Hostname", "hour"})
	if err := tbl.Seal(ctx); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	st := tbl.Stats()
	if st.Rows != 0 || st.Segments < 100 || st.SegmentRows != 800 {
		t.Fatalf("after seal: %+v; want an empty head and >= 100 segments holding 800 rows", st)
	}
	for _, m := range tbl.Segments() {
		w := time.UnixMicro(m.Window)
		if m.MinTS < m.Window || m.MaxTS >= w.Add(time.Hour).UnixMicro() || m.Shard < 0 || m.Shard >= 4 {
			t.Fatalf("segment %s: ts [%d, %d] outside window %s or shard %d out of range", m.File, m.MinTS, m.MaxTS, w, m.Shard)
		}
	}
	check := func(label string, tbl *Table) {
		t.Helper()
		if got := scanRows(t, tbl, []string{"id", "Hostname", "hour"}); !sameRowSet(got, before) {
			t.Fatalf("%s: rows differ from before the seal (%d vs %d rows)", label, len(got), len(before))
		}
		// One hour: [base+10h, base+11h).
		it, err := tbl.Scan(ctx, ScanOptions{Columns: []string{"hour"}, MinTime: base.Add(10 * time.Hour), MaxTime: base.Add(11 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		rows := drain(t, it)
		stats := it.(StatsIterator).Stats()
		it.Close()
		for _, r := range rows {
			if r["hour"] != int64(10) {
				t.Fatalf("%s: time-range scan returned hour %v; want only 10", label, r["hour"])
			}
		}
		if len(rows) != len(hosts) {
			t.Fatalf("%s: time-range scan: %d rows; want %d", label, len(rows), len(hosts))
		}
		if stats.SegmentsScanned > 4 || stats.SegmentsPruned != stats.Segments-stats.SegmentsScanned {
			t.Fatalf("%s: time-range scan stats %+v; want at most 4 segments (one window, 4 shards) read", label, stats)
		}
		// Predicates on other columns prune by their zone maps: hour >= 95 AND id IN
		// (two ids) leaves only segments of window 96 (x-0001-h1 is in window 1).
		it, err = tbl.Scan(ctx, ScanOptions{Columns: []string{"id"}, Predicates: []Predicate{
			{Column: "hour", Op: OpGe, Value: int64(95)},
			{Column: "id", Op: OpIn, Values: []any{"x-0096-h3", "x-0001-h1"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		rows = drain(t, it)
		stats = it.(StatsIterator).Stats()
		it.Close()
		found := 0
		for _, r := range rows {
			if r["id"] == "x-0096-h3" {
				found++
			}
		}
		if found != 1 || stats.SegmentsScanned > 4 || stats.SegmentsPruned != stats.Segments-stats.SegmentsScanned {
			t.Fatalf("%s: predicate scan: found x-0096-h3 %d times (want 1), stats %+v; want at most the 4 segments of window 96 read", label, found, stats)
		}
		// An impossible predicate reads nothing.
		it, err = tbl.Scan(ctx, ScanOptions{Predicates: []Predicate{{Column: "hour", Op: OpGt, Value: int64(1000)}}})
		if err != nil {
			t.Fatal(err)
		}
		if rows := drain(t, it); len(rows) != 0 || it.(StatsIterator).Stats().SegmentsScanned != 0 {
			t.Fatalf("%s: hour > 1000: %d rows, stats %+v; want nothing read", label, len(rows), it.(StatsIterator).Stats())
		}
		it.Close()
	}
	check("after seal", tbl)
	mustClose(t, s)
	wals, _ := filepath.Glob(filepath.Join(dir, tablesDirName, "ev", walPrefix+"*"))
	if len(wals) != 1 || filepath.Base(wals[0]) != walName(2) {
		t.Fatalf("WAL generations after seal: %v; want only %s", wals, walName(2))
	}
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	check("after reopen", mustTable(t, s, "ev"))
}

// sameRowSet compares two row lists as multisets.
func sameRowSet(a, b []map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[string]int{}
	for _, r := range a {
		count[fmt.Sprint(r)]++
	}
	for _, r := range b {
		count[fmt.Sprint(r)]--
	}
	for _, v := range count {
		if v != 0 {
			return false
		}
	}
	return true
}

func TestDictionaryScan(t *testing.T) {
	ctx := context.Background()
	s := openWith(t, t.TempDir(), Options{})
	defer mustClose(t, s)
	b := hourlyBatch(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b"}, "x")
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "ev", b) // and a head batch
	it, err := tbl.Scan(ctx, ScanOptions{Columns: []string{"Hostname", "hour"}, Dictionary: true})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	if dt := it.Schema().Field(0).Type; !arrow.TypeEqual(dt, dictStringType) {
		t.Fatalf("Hostname type %s; want %s", dt, dictStringType)
	}
	var hosts []string
	for {
		rec, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		d := rec.Column(0).(*array.Dictionary)
		vals := d.Dictionary().(*array.String)
		for i := range d.Len() {
			hosts = append(hosts, vals.Value(d.GetValueIndex(i)))
		}
	}
	if got := strings.Join(hosts, ""); strings.Count(got, "a") != 6 || strings.Count(got, "b") != 6 {
		t.Fatalf("hosts %v; want 6 a and 6 b", hosts)
	}
}

func TestBatchIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openWith(t, dir, Options{})
	b := mkBatch(col{"id", []string{"1", "2", "3"}})
	defer b.Release()
	opts := appendOpts
	opts.BatchID = "client-7/batch-1"
	w := func(s *Store, id string, want int64, wantRows int64) {
		t.Helper()
		o := appendOpts
		o.BatchID = id
		n, err := s.Write(ctx, "t", o, []arrow.RecordBatch{b})
		if err != nil || n != want {
			t.Fatalf("Write(BatchID %q): got %d, %v; want %d", id, n, err, want)
		}
		if got := mustTable(t, s, "t").Rows(); got != wantRows {
			t.Fatalf("after Write(BatchID %q): %d rows; want %d", id, got, wantRows)
		}
	}
	w(s, "a", 3, 3)
	w(s, "a", 3, 3) // a retry stores nothing and returns the original count
	w(s, "b", 3, 6)
	w(s, "", 3, 9) // no id: always written
	w(s, "", 3, 12)
	if d := mustTable(t, s, "t").Stats().DuplicateBatches; d != 1 {
		t.Fatalf("DuplicateBatches %d; want 1", d)
	}
	mustClose(t, s)
	s = openWith(t, dir, Options{}) // remembered from the WAL
	w(s, "a", 3, 12)
	if err := mustTable(t, s, "t").Seal(ctx); err != nil {
		t.Fatal(err)
	}
	w(s, "b", 3, 12) // remembered after the seal
	mustClose(t, s)
	s = openWith(t, dir, Options{}) // remembered from the manifest
	defer mustClose(t, s)
	w(s, "a", 3, 12)
	w(s, "b", 3, 12)
	w(s, "c", 3, 15)

	// Concurrent retries of one id: exactly one stores.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := appendOpts
			o.BatchID = "concurrent"
			if n, err := s.Write(ctx, "t", o, []arrow.RecordBatch{b}); err != nil || n != 3 {
				t.Errorf("concurrent retry: got %d, %v; want 3", n, err)
			}
		}()
	}
	wg.Wait()
	if got := mustTable(t, s, "t").Rows(); got != 18 {
		t.Fatalf("after 8 concurrent writes of one id: %d rows; want 18", got)
	}
}

// TestCorruptSegmentQuarantined damages a sealed segment: Open reports it with its path,
// moves it to quarantine/, and opens the table with the other rows.
func TestCorruptSegmentQuarantined(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openWith(t, dir, Options{TableDefaults: TableOptions{Shards: 1}})
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	b := hourlyBatch(base, 2, []string{"a"}, "x") // two windows: two segments
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	segs := tbl.Segments()
	if len(segs) != 2 {
		t.Fatalf("%d segments; want 2", len(segs))
	}
	mustClose(t, s)
	victim := filepath.Join(dir, tablesDirName, "ev", segs[1].File)
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[len(data)-12:], []byte("garbagegarba")) // the footer
	if err := os.WriteFile(victim, data, filePerm); err != nil {
		t.Fatal(err)
	}
	s = openWith(t, dir, Options{TableDefaults: TableOptions{Shards: 1}})
	defer mustClose(t, s)
	var q []string
	for _, r := range s.Recovery() {
		q = append(q, r.Quarantined...)
	}
	if len(q) != 1 || !strings.Contains(q[0], victim) {
		t.Fatalf("quarantined %v; want one entry naming %s", q, victim)
	}
	if _, err := os.Stat(filepath.Join(dir, tablesDirName, "ev", quarantineDirName, segs[1].File)); err != nil {
		t.Fatalf("quarantined file: %v", err)
	}
	if got := mustTable(t, s, "ev").Rows(); got != 1 {
		t.Fatalf("rows after quarantine: %d; want 1", got)
	}
}

// TestMaintenanceWhileIngesting runs background sealing, compaction and retention every
// few milliseconds while a writer ingests and readers scan, and checks every scan: each
// batch acknowledged before the scan started is present exactly once and whole, no batch
// appears in part or twice, and the old windows that retention deletes are seen whole or
// not at all.
func TestMaintenanceWhileIngesting(t *testing.T) {
	ctx := context.Background()
	var clock atomic.Int64
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(start.UnixNano())
	s := openWith(t, t.TempDir(), Options{
		MaintenanceInterval: 5 * time.Millisecond,
		now:                 func() time.Time { return time.Unix(0, clock.Load()).UTC() },
		TableDefaults: TableOptions{
			Shards: 2, SealRows: 1000, CompactRows: 1 << 20, RowGroupRows: 1000,
			RetentionAge: 48 * time.Hour,
		},
	})
	defer mustClose(t, s)
	const rowsPerBatch = 100
	// Old data: 4 windows, 40 days before the clock; retention deletes them once the
	// clock moves (it is already past 48h: they go at the first maintenance round).
	old := hourlyBatch(start.Add(-40*24*time.Hour), 4, []string{"a", "b"}, "old")
	defer old.Release()

	var acked sync.Map // batch id -> true
	var nAcked atomic.Int64
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	mustWrite(t, s, "ev", old)
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("b%06d", i)
			ids := make([]string, rowsPerBatch)
			ts := make([]string, rowsPerBatch)
			hosts := make([]string, rowsPerBatch)
			for j := range ids {
				ids[j] = id
				ts[j] = start.Add(time.Duration(i)*time.Minute + time.Duration(j)*time.Second).Format(time.RFC3339)
				hosts[j] = fmt.Sprintf("h%d", j%5)
			}
			b := mkBatch(col{"id", ids}, col{"@timestamp", ts}, col{"Hostname", hosts})
			_, err := s.Write(ctx, "ev", appendOpts, []arrow.RecordBatch{b})
			b.Release()
			if err != nil {
				t.Errorf("write %s: %v", id, err)
				return
			}
			acked.Store(id, true)
			nAcked.Add(1)
		}
	}()
	tbl := mustTable(t, s, "ev")
	// Run until maintenance has done each kind of work at least a few times while scans
	// go on (not for a fixed time: the test must not depend on the machine's speed); the
	// cap only turns a hang into a failure.
	enough := func(scans int) bool {
		st := tbl.Stats()
		return scans >= 20 && st.Seals >= 3 && st.Compactions >= 1 && st.WindowsDeleted > 0
	}
	limit := time.Now().Add(2 * time.Minute)
	scans := 0
	for !enough(scans) && time.Now().Before(limit) && !t.Failed() {
		var before []string
		acked.Range(func(k, _ any) bool { before = append(before, k.(string)); return true })
		counts := map[string]int{}
		for _, r := range scanRows(t, tbl, []string{"id"}) {
			counts[r["id"].(string)]++
		}
		oldSeen := 0
		for id, n := range counts {
			if strings.HasPrefix(id, "old-") {
				oldSeen += n
				if n != 1 {
					t.Fatalf("scan %d: old row %s seen %d times", scans, id, n)
				}
				continue
			}
			if n != rowsPerBatch {
				t.Fatalf("scan %d: batch %s has %d rows; want %d", scans, id, n, rowsPerBatch)
			}
		}
		if oldSeen != 0 && oldSeen%2 != 0 { // whole windows of 2 rows each
			t.Fatalf("scan %d: %d old rows: a window seen in part", scans, oldSeen)
		}
		for _, id := range before {
			if counts[id] != rowsPerBatch {
				t.Fatalf("scan %d: acknowledged batch %s has %d rows; want %d", scans, id, counts[id], rowsPerBatch)
			}
		}
		scans++
	}
	close(stop)
	<-writerDone
	st := tbl.Stats()
	t.Logf("%d scans, %d batches acknowledged, stats %+v", scans, nAcked.Load(), st)
	if !enough(scans) {
		t.Fatalf("after %d scans, stats %+v: want >= 20 scans, 3 seals, a compaction and deleted windows within the cap", scans, st)
	}
}

// TestScanParts: the parts of one snapshot return every row exactly once, whole shards
// per part, and later writes are seen by none of them.
func TestScanParts(t *testing.T) {
	ctx := context.Background()
	s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{Shards: 4}})
	defer mustClose(t, s)
	b := hourlyBatch(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 10, []string{"a", "b", "c", "d", "e"}, "x")
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	b2 := hourlyBatch(time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b"}, "y")
	defer b2.Release()
	mustWrite(t, s, "ev", b2, b2) // two head batches
	want := scanRows(t, tbl, []string{"id"})
	parts, err := tbl.ScanParts(ctx, ScanOptions{Columns: []string{"id"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, "ev", b2) // not in the snapshot
	var got []map[string]any
	for _, p := range parts {
		got = append(got, drain(t, p)...)
		p.Close()
	}
	if !sameRowSet(got, want) {
		t.Fatalf("parts returned %d rows; want the %d rows of the snapshot, each once", len(got), len(want))
	}
	if _, err := tbl.ScanParts(ctx, ScanOptions{}, 0); err == nil {
		t.Fatal("ScanParts(0): got nil error; want one")
	}
}

// TestHeadBackpressure: with background sealing off, a Write finding the head over its
// limit waits; a seal lets it through; a Write whose context ends while waiting fails
// with ErrHeadFull and stores nothing.
func TestHeadBackpressure(t *testing.T) {
	ctx := context.Background()
	s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{SealRows: 5}})
	defer mustClose(t, s)
	b := mkBatch(col{"id", []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}})
	defer b.Release()
	mustWrite(t, s, "t", b)
	mustWrite(t, s, "t", b) // 20 rows = headLimitFactor × SealRows: the head is full
	tbl := mustTable(t, s, "t")

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err := s.Write(cctx, "t", appendOpts, []arrow.RecordBatch{b})
	cancel()
	if !errors.Is(err, ErrHeadFull) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("write into a full head: got %v; want ErrHeadFull and the context's error", err)
	}
	if got := tbl.Rows(); got != 20 {
		t.Fatalf("rows after the refused write: %d; want 20", got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Write(ctx, "t", appendOpts, []arrow.RecordBatch{b})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("write into a full head returned %v before any seal; want it to wait", err)
	case <-time.After(20 * time.Millisecond): // a liveness probe, not a threshold: passing early would be the bug
	}
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("held-back write after the seal: %v", err)
	}
	if got := tbl.Rows(); got != 30 {
		t.Fatalf("rows: %d; want 30", got)
	}
}

// TestVerifyFindsBitRot flips one byte in the middle of a segment (a data page: the
// footer, size and row counts stay valid): Table.Verify and Open with VerifySegments find
// it by its CRC, report the path and quarantine it.
func TestVerifyFindsBitRot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{TableDefaults: TableOptions{Shards: 1}}
	s := openWith(t, dir, opts)
	b := hourlyBatch(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b"}, "x") // 3 windows
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if bad, err := tbl.Verify(ctx); err != nil || len(bad) != 0 {
		t.Fatalf("Verify of intact segments: %v, %v; want nothing", bad, err)
	}
	segs := tbl.Segments()
	flip := func(m SegmentMeta) string {
		p := filepath.Join(dir, tablesDirName, "ev", m.File)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// A byte in the middle of the column data (between the leading magic and the footer),
		// which a plain Open, reading only the footer, does not see.
		footer := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
		data[(4+len(data)-8-footer)/2] ^= 0x40
		if err := os.WriteFile(p, data, filePerm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	victim := flip(segs[0])
	bad, err := tbl.Verify(ctx)
	if err != nil || len(bad) != 1 || !strings.Contains(bad[0], victim) || !strings.Contains(bad[0], "CRC32C") {
		t.Fatalf("Verify: %v, %v; want one CRC failure naming %s", bad, err, victim)
	}
	if _, err := os.Stat(filepath.Join(dir, tablesDirName, "ev", quarantineDirName, segs[0].File)); err != nil {
		t.Fatalf("quarantined file: %v", err)
	}
	if got := tbl.Rows(); got != 4 {
		t.Fatalf("rows after Verify: %d; want 4", got)
	}
	mustClose(t, s)

	// At Open, only with VerifySegments.
	victim = flip(segs[1])
	s = openWith(t, dir, opts)
	if got := mustTable(t, s, "ev").Rows(); got != 4 {
		t.Fatalf("rows after a plain Open: %d; want 4 (the CRC is not checked)", got)
	}
	mustClose(t, s)
	opts.VerifySegments = true
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	var q []string
	for _, r := range s.Recovery() {
		q = append(q, r.Quarantined...)
	}
	if len(q) != 1 || !strings.Contains(q[0], victim) {
		t.Fatalf("quarantined at Open with VerifySegments: %v; want one entry naming %s", q, victim)
	}
	if got := mustTable(t, s, "ev").Rows(); got != 2 {
		t.Fatalf("rows: %d; want 2", got)
	}
}

// TestScanFailureQuarantinesCorruptSegment: a segment damaged in its data pages (the
// footer and sizes intact, so Open accepts it) makes a scan fail naming its path; the
// failure starts a check that quarantines it, after which scans return the other
// segments' rows and the file is in quarantine/.
func TestScanFailureQuarantinesCorruptSegment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openWith(t, dir, Options{TableDefaults: TableOptions{Shards: 1}})
	defer mustClose(t, s)
	b := hourlyBatch(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b"}, "x") // 3 windows
	defer b.Release()
	mustWrite(t, s, "ev", b)
	tbl := mustTable(t, s, "ev")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	segs := tbl.Segments()
	victim := filepath.Join(dir, tablesDirName, "ev", segs[0].File)
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < len(data)*2/3; i++ { // every data page, not the footer
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(victim, data, filePerm); err != nil {
		t.Fatal(err)
	}
	it, err := tbl.Scan(ctx, ScanOptions{})
	if err == nil {
		for err == nil {
			_, err = it.Next(ctx)
		}
		it.Close()
	}
	if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), victim) {
		t.Fatalf("scan over the damaged segment: %v; want an error naming %s", err, victim)
	}
	deadline := time.Now().Add(30 * time.Second) // liveness bound, not a performance figure
	for slices.ContainsFunc(tbl.Segments(), func(m SegmentMeta) bool { return m.File == segs[0].File }) {
		if time.Now().After(deadline) {
			t.Fatalf("segment %s still listed 30 s after a scan failed on it", victim)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, tablesDirName, "ev", quarantineDirName, segs[0].File)); err != nil {
		t.Fatalf("quarantined file: %v", err)
	}
	if got, want := len(scanRows(t, tbl, nil)), int(b.NumRows()-segs[0].Rows); got != want {
		t.Fatalf("rows scanned after the quarantine: %d; want %d", got, want)
	}
}
