package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// manifestJSON is the JSON of m: what two manifests are compared by.
func manifestJSON(tb testing.TB, m *manifest) string {
	tb.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// tableManifest is the JSON of tbl's manifest.
func tableManifest(tb testing.TB, tbl *Table) string {
	tb.Helper()
	tbl.mu.Lock()
	defer tbl.mu.Unlock()
	return manifestJSON(tb, tbl.man)
}

// checkDurable fails unless the manifest on disk (checkpoint and log) is the table's
// manifest in memory, and returns the checkpoint's Seq.
func checkDurable(tb testing.TB, tbl *Table, what string) uint64 {
	tb.Helper()
	disk, _, err := readManifest(tbl.dir)
	if err != nil {
		tb.Fatalf("%s: read manifest: %v", what, err)
	}
	if got, want := manifestJSON(tb, disk), tableManifest(tb, tbl); got != want {
		tb.Fatalf("%s: the manifest on disk differs from the table's:\n disk %.300s\n  mem %.300s", what, got, want)
	}
	data, err := os.ReadFile(filepath.Join(tbl.dir, manifestFileName))
	if err != nil {
		tb.Fatal(err)
	}
	cp, err := decodeManifest("MANIFEST", data)
	if err != nil {
		tb.Fatal(err)
	}
	return cp.Seq
}

// checkTable fails unless tbl's manifest has the JSON man and its rows the ids (when:
// what the check follows, for the message).
func checkTable(tb testing.TB, tbl *Table, man string, ids []string, when string) {
	tb.Helper()
	if got := tableManifest(tb, tbl); got != man {
		tb.Fatalf("manifest %s:\n got %.300s\nwant %.300s", when, got, man)
	}
	if ids != nil {
		if got := idsOf(tb, tbl); !slices.Equal(got, ids) {
			tb.Fatalf("rows %s: got %d %v, want %d", when, len(got), got, len(ids))
		}
	}
}

// manifestOps seals, compacts and enforces retention on a table of three windows, with
// batch ids, checking after every change that the manifest on disk is the one in memory.
// It returns the ids written and how many changes went to the log only.
func manifestOps(t *testing.T, s *Store, clock *time.Time) (ids []string, logged int) {
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	step := func(tbl *Table, what string) {
		tbl.mu.Lock()
		seq := tbl.man.Seq
		tbl.mu.Unlock()
		if cp := checkDurable(t, tbl, what); cp < seq {
			logged++
		}
	}
	var tbl *Table
	for i := range 12 {
		b := hourlyBatch(base.Add(time.Duration(i%3)*24*time.Hour), 3, []string{"a", "b", "c"}, string(rune('p'+i)))
		opts := appendOpts
		opts.BatchID = "batch-" + string(rune('p'+i))
		if _, err := s.Write(ctx, "ev", opts, []arrow.RecordBatch{b}); err != nil {
			t.Fatal(err)
		}
		b.Release()
		tbl = mustTable(t, s, "ev")
		if err := tbl.Seal(ctx); err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
		step(tbl, "seal")
	}
	if err := tbl.Compact(ctx); err != nil || tbl.Stats().Compactions == 0 {
		t.Fatalf("compaction: %v, %d merges; want some", err, tbl.Stats().Compactions)
	}
	step(tbl, "compaction")
	*clock = base.Add(24*time.Hour + tbl.opts.Window + tbl.opts.RetentionAge + time.Hour)
	if n, err := tbl.EnforceRetention(ctx, *clock); err != nil || n == 0 {
		t.Fatalf("retention: %d windows, %v; want some deleted", n, err)
	}
	step(tbl, "retention")
	for _, r := range scanRows(t, tbl, []string{"id"}) {
		ids = append(ids, r["id"].(string))
	}
	slices.Sort(ids)
	return ids, logged
}

// TestManifestLog: seals, a compaction and retention change the manifest through its
// log (the checkpoint is not rewritten); after each change the checkpoint plus the log
// read back as the manifest in memory, and a reopen finds the same manifest, rows and
// batch ids. With a log limit of one byte, changes alternate between records and
// checkpoints (the log then fits at most the checkpoint's size) with the same results.
func TestManifestLog(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		logMin               int64
		minLogged, maxLogged int
	}{{"log", 4 << 20, 13, 13}, {"checkpoints", 1, 1, 12}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v int64) { manifestLogMin = v }(manifestLogMin)
			manifestLogMin = tc.logMin
			dir := t.TempDir()
			clock := ingestTime
			opts := Options{now: func() time.Time { return clock }, TableDefaults: TableOptions{Shards: 2, RowGroupRows: 4, RetentionAge: 24 * time.Hour}}
			s := openWith(t, dir, opts)
			ids, logged := manifestOps(t, s, &clock)
			t.Logf("%d of 14 changes only in the log", logged)
			if logged < tc.minLogged || logged > tc.maxLogged {
				t.Errorf("%d of 14 changes only in the log; want %d..%d", logged, tc.minLogged, tc.maxLogged)
			}
			tbl := mustTable(t, s, "ev")
			before := tableManifest(t, tbl)
			mustClose(t, s)

			s = openWith(t, dir, opts)
			defer mustClose(t, s)
			tbl = mustTable(t, s, "ev")
			checkTable(t, tbl, before, ids, "after reopen")
			// The batch ids sealed are remembered: a retry of one is not stored again.
			b := hourlyBatch(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b", "c"}, "p")
			defer b.Release()
			retry := appendOpts
			retry.BatchID = "batch-p"
			if _, err := s.Write(context.Background(), "ev", retry, []arrow.RecordBatch{b}); err != nil {
				t.Fatal(err)
			}
			if got := idsOf(t, tbl); !slices.Equal(got, ids) {
				t.Fatalf("a retried batch id was stored again: %d ids, want %d", len(got), len(ids))
			}
		})
	}
}

// sealedLogTable makes a table whose manifest log holds records (two seals after the
// first, which writes the checkpoint), closes the store and returns the store's options
// and the manifest's JSON and rows.
func sealedLogTable(t *testing.T, dir string, seals int) (Options, string, []string) {
	ctx := context.Background()
	opts := Options{TableDefaults: TableOptions{Shards: 1}}
	s := openWith(t, dir, opts)
	var tbl *Table
	for i := range seals {
		if !writeIDs(t, s, appendOpts, string(rune('a'+i))+"1", string(rune('a'+i))+"2") {
			t.Fatal("write failed")
		}
		tbl = mustTable(t, s, "t")
		if err := tbl.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !writeIDs(t, s, appendOpts, "head1") { // one row only in the WAL
		t.Fatal("write failed")
	}
	man := tableManifest(t, tbl)
	ids := idsOf(t, tbl)
	mustClose(t, s)
	return opts, man, ids
}

// TestManifestLogTornTail: what a crash during an append leaves at the end of the log (a
// record cut short, a whole record whose bytes did not all reach the disk, zeros, a
// header never written before the rest) is not a change: Open finds the manifest of the
// records before it, checkpoints it (the log's records may not have been fsynced), and
// the next change is the log's only record, the torn bytes gone.
func TestManifestLogTornTail(t *testing.T) {
	ctx := context.Background()
	record := func(t *testing.T) []byte {
		rec, err := manifestRecord(&manifestDelta{Seq: 99, WALStart: 7, NextSegment: 9, Drop: []string{"seg-x"}})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	for _, tc := range []struct {
		name string
		tail func(t *testing.T) []byte
	}{
		{"cut short", func(t *testing.T) []byte { return record(t)[:20] }},
		{"header only", func(t *testing.T) []byte { return record(t)[:6] }},
		{"bad checksum", func(t *testing.T) []byte { r := record(t); r[len(r)-3] ^= 1; return r }},
		{"zeros", func(t *testing.T) []byte { return make([]byte, 4096) }},
		{"header not written", func(t *testing.T) []byte { r := record(t); clear(r[:8]); return r }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, man, ids := sealedLogTable(t, dir, 3)
			logPath := filepath.Join(dir, "tables", "t", manifestLogName)
			valid, err := os.ReadFile(logPath)
			if err != nil || len(valid) == 0 {
				t.Fatalf("the log holds no records (%v)", err)
			}
			f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tc.tail(t)); err != nil {
				t.Fatal(err)
			}
			f.Close()

			s := openWith(t, dir, opts)
			tbl := mustTable(t, s, "t")
			checkTable(t, tbl, man, ids, "after reopen")
			if cp := checkDurable(t, tbl, "reopen"); cp != tbl.man.Seq {
				t.Fatalf("checkpoint at change %d after Open; want %d (the log's records checkpointed)", cp, tbl.man.Seq)
			}
			// The next change is the log's only record.
			if err := tbl.Seal(ctx); err != nil {
				t.Fatal(err)
			}
			checkDurable(t, tbl, "seal after a torn tail")
			now, err := os.ReadFile(logPath)
			if _, ok := validRecord(now); err != nil || !ok || int(binary.LittleEndian.Uint32(now))+8 != len(now) {
				t.Fatalf("log after the next seal: %d bytes (%v); want one valid record", len(now), err)
			}
			man = tableManifest(t, tbl)
			mustClose(t, s)
			s = openWith(t, dir, opts)
			defer mustClose(t, s)
			tbl = mustTable(t, s, "t")
			checkTable(t, tbl, man, ids, "after the second reopen")
		})
	}
}

// TestManifestLogCoveredRecords: records a checkpoint already holds (the log was not
// emptied before a crash) are skipped, not applied twice.
func TestManifestLogCoveredRecords(t *testing.T) {
	dir := t.TempDir()
	opts, _, _ := sealedLogTable(t, dir, 3)
	logPath := filepath.Join(dir, "tables", "t", manifestLogName)
	old, err := os.ReadFile(logPath)
	if err != nil || len(old) == 0 {
		t.Fatalf("the log holds no records (%v)", err)
	}
	// A checkpoint of everything (every change writes one), then the old records put
	// back, as if emptying the log had not reached the disk.
	manifestLogOff = true
	s := openWith(t, dir, opts)
	if !writeIDs(t, s, appendOpts, "z1") {
		t.Fatal("write failed")
	}
	tbl := mustTable(t, s, "t")
	err = tbl.Seal(context.Background())
	manifestLogOff = false
	if err != nil {
		t.Fatal(err)
	}
	man := tableManifest(t, tbl)
	ids := idsOf(t, tbl)
	mustClose(t, s)
	if now, _ := os.ReadFile(logPath); len(now) != 0 {
		t.Fatalf("the log holds %d bytes after a checkpoint; want none", len(now))
	}
	if err := os.WriteFile(logPath, old, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	tbl = mustTable(t, s, "t")
	checkTable(t, tbl, man, ids, "after reopen")
}

// TestManifestLogCorrupt: damage that is not a torn tail (a record failing its checksum,
// or whose length is wrong, with a valid record after it; a record that does not follow
// the checkpoint; a record repeated) makes Open fail with ErrCorrupt naming the log and
// the record's offset, instead of dropping changes (whose WAL generations are gone).
func TestManifestLogCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		damage     func(log []byte) []byte
	}{
		{"flipped byte", "byte 0: damaged, with a valid record", func(log []byte) []byte { log[12] ^= 0x40; return log }},
		{"flipped length", "byte 0: damaged, with a valid record", func(log []byte) []byte { log[3] ^= 0x40; return log }},
		{"record repeated", "repeats an earlier one", func(log []byte) []byte {
			n := binary.LittleEndian.Uint32(log)
			return append(log, log[:8+n]...)
		}},
		{"record missing", "does not follow", func(log []byte) []byte {
			n := binary.LittleEndian.Uint32(log)
			return log[8+n:]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts, _, _ := sealedLogTable(t, dir, 3)
			logPath := filepath.Join(dir, "tables", "t", manifestLogName)
			log, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(logPath, tc.damage(log), 0o644); err != nil {
				t.Fatal(err)
			}
			opts.Dir = dir
			s, err := Open(context.Background(), opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded; want ErrCorrupt")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), manifestLogName) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v; want ErrCorrupt naming %s and %q", err, manifestLogName, tc.want)
			}
		})
	}
}

// TestFaultManifestLog: the manifest log's append fails during a seal and during a
// compaction.
//   - fsync fails: the change may or may not be durable, so the table keeps every file
//     and refuses writes until reopen; after it every acknowledged row is there once.
//   - the write fails half way (a full disk): the append is undone and the operation
//     fails; the table goes on (a later seal succeeds) and nothing is lost.
func TestFaultManifestLog(t *testing.T) {
	ctx := context.Background()
	for _, fault := range []struct {
		name   string
		op     string
		err    error
		sticky bool
	}{{"fsync", "sync", syscall.EIO, true}, {"write", "writeat", syscall.ENOSPC, false}} {
		for _, job := range []struct {
			name string
			run  func(*Table) error
		}{{"seal", func(tbl *Table) error { return tbl.Seal(ctx) }}, {"compaction", func(tbl *Table) error { return tbl.Compact(ctx) }}} {
			t.Run(fault.name+"/"+job.name, func(t *testing.T) {
				dir := t.TempDir()
				ffs := newFaultFS()
				s := openFaultOpts(t, dir, ffs)
				var want []string
				var tbl *Table
				for i := range 4 {
					id := string(rune('a' + i))
					if !writeIDs(t, s, appendOpts, id+"1", id+"2") {
						t.Fatal("write failed")
					}
					want = append(want, id+"1", id+"2")
					tbl = mustTable(t, s, "t")
					if err := tbl.Seal(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if !writeIDs(t, s, appendOpts, "e1") {
					t.Fatal("write failed")
				}
				want = append(want, "e1")
				var fired bool
				ffs.setHook(func(op, path string) error {
					if op == fault.op && filepath.Base(path) == manifestLogName && !fired {
						fired = true
						return fault.err
					}
					return nil
				})
				err := job.run(tbl)
				ffs.setHook(nil)
				if !fired || !errors.Is(err, fault.err) {
					t.Fatalf("%s with a failing log %s: %v (fault fired: %v); want %v", job.name, fault.op, err, fired, fault.err)
				}
				ok := writeIDs(t, s, appendOpts, "f1")
				if ok == fault.sticky {
					t.Fatalf("a write after the failure acknowledged: %v; want %v", ok, !fault.sticky)
				}
				if ok {
					want = append(want, "f1")
					if err := tbl.Seal(ctx); err != nil {
						t.Fatalf("a seal after the undone append: %v", err)
					}
					checkDurable(t, tbl, "seal after the undone append")
				}
				s.Close()

				mustClose(t, reopenFinds(t, dir, want))
			})
		}
	}
}

// TestManifestVersion1Upgrade: a version-1 manifest (written before the log existed)
// opens, and its table's first change writes a version-2 checkpoint instead of a log
// record, which a build reading only version 1 would not see.
func TestManifestVersion1Upgrade(t *testing.T) {
	dir := t.TempDir()
	opts, _, ids := sealedLogTable(t, dir, 1)
	tdir := filepath.Join(dir, "tables", "t")
	// The manifest as a version-1 build wrote it: no seq, no log.
	data, err := os.ReadFile(filepath.Join(tdir, manifestFileName))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = 1
	delete(m, "seq")
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, manifestFileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(tdir, manifestLogName))

	s := openWith(t, dir, opts)
	tbl := mustTable(t, s, "t")
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows of the version-1 table: got %v, want %v", got, ids)
	}
	if err := tbl.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join(tdir, manifestFileName))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := decodeManifest(manifestFileName, data)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Version != 2 || cp.Seq != 1 {
		t.Fatalf("checkpoint after the first change: version %d seq %d; want version 2 seq 1", cp.Version, cp.Seq)
	}
	if st, err := os.Stat(filepath.Join(tdir, manifestLogName)); err == nil && st.Size() > 0 {
		t.Fatalf("the first change of a version-1 table went to the log (%d bytes)", st.Size())
	}
	checkDurable(t, tbl, "first change")
	mustClose(t, s)
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, ids) {
		t.Fatalf("rows after reopen: got %v, want %v", got, ids)
	}
}

// BenchmarkManifestChange measures making one change durable on a table that lists
// segments=N segments of 300 columns and 3 row groups (~110 KB of zone-map JSON each: the
// corpus's Windows events): a merge's 4 segments out, a seal's 4 in. change=record is a
// log record (the default), change=checkpoint the whole manifest rewritten (what every
// change cost before the log, the baseline); changes/s for each, and make bench prints
// the ratio.
func BenchmarkManifestChange(b *testing.B) {
	for _, n := range []int{100, 1000} {
		pool := make([]SegmentMeta, 8) // reused round robin under new names: metadata is immutable
		for i := range pool {
			pool[i] = benchSegment(uint64(i))
		}
		for _, mode := range []string{"checkpoint", "record"} {
			b.Run(fmt.Sprintf("segments=%d/change=%s", n, mode), func(b *testing.B) {
				ctx := context.Background()
				s := openWith(b, b.TempDir(), Options{})
				defer mustClose(b, s)
				mustWrite(b, s, "t", mkBatch(col{"id", []string{"x"}}))
				tbl := mustTable(b, s, "t")
				next := uint64(0)
				var live []string
				take := func() SegmentMeta {
					sm := pool[next%uint64(len(pool))]
					sm.File = segName(next)
					live = append(live, sm.File)
					next++
					return sm
				}
				change := func(drop []string, add []SegmentMeta) {
					tbl.mu.Lock()
					base := tbl.man
					tbl.mu.Unlock()
					d := &manifestDelta{Seq: base.Seq + 1, WALStart: base.WALStart, NextSegment: next, Drop: drop, Add: add}
					man, err := applyDelta(base, d)
					if err == nil {
						err = tbl.runOp(ctx, func() error { return tbl.commitManifest(man, d) })
					}
					if err != nil {
						b.Fatal(err)
					}
					tbl.mu.Lock()
					tbl.man = man
					tbl.mu.Unlock()
				}
				for next < uint64(n) { // the table's segments, 64 per change
					var add []SegmentMeta
					for len(add) < 64 && next < uint64(n) {
						add = append(add, take())
					}
					change(nil, add)
				}
				defer func(v bool) { manifestLogOff = v }(manifestLogOff)
				manifestLogOff = mode == "checkpoint"
				b.ResetTimer()
				for b.Loop() {
					change(live[:4], []SegmentMeta{take(), take(), take(), take()})
					live = live[4:]
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
			})
		}
	}
}

// TestManifestLogDamagedLastMerge: the log's last record is a merge, made durable (its
// inputs deleted) and damaged since. It looks like a torn append, and a merge leaves
// WALStart alone, but the manifest without it lists segments that are gone: Open fails
// with ErrCorrupt instead of deleting the merged segment as an orphan and losing its
// rows.
func TestManifestLogDamagedLastMerge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{TableDefaults: TableOptions{Shards: 1}}
	s := openWith(t, dir, opts)
	var tbl *Table
	for i := range 6 {
		b := hourlyBatch(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), 3, []string{"a", "b"}, string(rune('p'+i)))
		_, err := s.Write(ctx, "t", appendOpts, []arrow.RecordBatch{b})
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
		tbl = mustTable(t, s, "t")
		if err := tbl.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := tbl.Compact(ctx); err != nil || tbl.Stats().Compactions == 0 {
		t.Fatalf("compact: %v, %d merges; want some", err, tbl.Stats().Compactions)
	}
	mustClose(t, s)
	logPath := filepath.Join(dir, "tables", "t", manifestLogName)
	log, err := os.ReadFile(logPath)
	if err != nil || len(log) == 0 {
		t.Fatalf("log: %d bytes, %v", len(log), err)
	}
	log[len(log)-5] ^= 0x01 // bit rot in the last record (the merge)
	if err := os.WriteFile(logPath, log, 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Dir = dir
	s, err = Open(ctx, opts)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded; want ErrCorrupt")
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("Open: %v; want ErrCorrupt for the missing segment", err)
	}
}

// TestManifestLogOpenOnFullDisk: Open cannot write the checkpoint of a non-empty log
// (no space left). It still opens, deleting nothing by the log (its records may not be
// durable): the table reads whole, and once there is space the first change writes a
// checkpoint, after which a reopen finds every row.
func TestManifestLogOpenOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	_, man, ids := sealedLogTable(t, dir, 3)
	ffs := newFaultFS()
	ffs.spaceLeft.Store(0)
	s := openFaultOpts(t, dir, ffs)
	tbl := mustTable(t, s, "t")
	checkTable(t, tbl, man, ids, "after reopen")
	ffs.spaceLeft.Store(-1)
	if !writeIDs(t, s, appendOpts, "z1") {
		t.Fatal("write failed")
	}
	if err := tbl.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if cp := checkDurable(t, tbl, "seal after the full disk"); cp != tbl.man.Seq {
		t.Fatalf("the first change after an Open that could not checkpoint went to the log (checkpoint at %d, change %d)", cp, tbl.man.Seq)
	}
	s.Close()
	s = openFaultOpts(t, dir, nil)
	defer mustClose(t, s)
	want := append(slices.Clone(ids), "z1")
	slices.Sort(want)
	if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, want) {
		t.Fatalf("rows after reopen: got %v, want %v", got, want)
	}
}

// TestManifestLogStaleRecordsInTornTail: the log was emptied after a checkpoint and an
// append at its start is torn; past its first block the file shows what it held before
// (a file system that exposes stale blocks after a crash, such as ext4 with
// data=writeback): whole old records, all at or below the checkpoint's seq. That is a
// torn tail, not damage in the middle: Open succeeds with the checkpoint's manifest.
func TestManifestLogStaleRecordsInTornTail(t *testing.T) {
	dir := t.TempDir()
	opts, want, _ := sealedLogTable(t, dir, 4)
	tdir := filepath.Join(dir, "tables", "t")
	logPath := filepath.Join(tdir, manifestLogName)
	old, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	man, od, err := readManifest(tdir)
	if err != nil || od.logSize == 0 {
		t.Fatalf("readManifest: %v, %+v; want a log", err, od)
	}
	var c segmentJSON
	if _, err := writeManifest(osFS{}, tdir, man, &c); err != nil { // a checkpoint of all of it
		t.Fatal(err)
	}
	torn := slices.Clone(old)
	clear(torn[:8]) // the new record's first block never reached the disk
	if err := os.WriteFile(logPath, torn, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openWith(t, dir, opts)
	defer mustClose(t, s)
	tbl := mustTable(t, s, "t")
	if got := tableManifest(t, tbl); got != want {
		t.Fatalf("manifest:\n got %.300s\nwant %.300s", got, want)
	}
}
