package storage

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPacerShare: while yielding, the pacer sleeps so that busy time is share of the wall
// time (within the sleep cap), only after a full slice; when not yielding it never sleeps.
func TestPacerShare(t *testing.T) {
	var clock time.Time = time.Unix(1000, 0)
	var slept []time.Duration
	yield := true
	p := &pacer{share: 0.5, yield: func() bool { return yield },
		now:   func() time.Time { return clock },
		sleep: func(d time.Duration) { slept = append(slept, d); clock = clock.Add(d) }}
	p.step() // starts the first slice
	clock = clock.Add(paceSlice / 2)
	p.step()
	if len(slept) != 0 {
		t.Fatalf("slept %v after half a slice of work; want no sleep", slept)
	}
	clock = clock.Add(paceSlice) // 1.5 slices busy in all
	p.step()
	if want := paceSlice * 3 / 2; len(slept) != 1 || slept[0] != want {
		t.Fatalf("slept %v after %v busy at share 0.5; want [%v]", slept, want, want)
	}
	clock = clock.Add(10 * maxPaceSleep) // a long unit of work: the pause is capped
	p.step()
	if len(slept) != 2 || slept[1] != maxPaceSleep {
		t.Fatalf("slept %v after a long unit; want the cap %v second", slept, maxPaceSleep)
	}
	yield = false
	clock = clock.Add(10 * paceSlice)
	p.step()
	if len(slept) != 2 {
		t.Fatalf("slept %v while not yielding; want no new sleep", slept)
	}
	if p.yields != 2 || p.slept != paceSlice*3/2+maxPaceSleep {
		t.Fatalf("pacer counted %d yields, %v slept; want 2, %v", p.yields, p.slept, paceSlice*3/2+maxPaceSleep)
	}
	var nilPacer *pacer
	nilPacer.step() // must not panic
}

// TestSealPacerYieldsOnlyWhileWritten: a table's pacer yields after a recent commit with
// a small head, and not once the head nears backpressure or writes stopped.
func TestSealPacerYieldsOnlyWhileWritten(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{TableDefaults: TableOptions{SealRows: 100}, MaintenanceInterval: -1})
	defer mustClose(t, s)
	rec := mkBatch(col{"id", []int64{1, 2, 3}})
	defer rec.Release()
	mustWrite(t, s, "t", rec)
	tbl := mustTable(t, s, "t")
	p := tbl.sealPacer()
	if !p.yield() {
		t.Fatal("pacer does not yield right after a commit with 3 of 100 rows in the head")
	}
	tbl.lastCommit.Store(time.Now().Add(-2 * paceRecentWrite).UnixNano())
	if p.yield() {
		t.Fatalf("pacer yields %v after the last commit; want full speed", 2*paceRecentWrite)
	}
	tbl.lastCommit.Store(time.Now().UnixNano())
	tbl.mu.Lock()
	tbl.rows = paceFullSpeedFactor * 100
	tbl.mu.Unlock()
	if p.yield() {
		t.Fatal("pacer yields with the head at paceFullSpeedFactor x SealRows; want full speed")
	}
	tbl.mu.Lock()
	tbl.rows = 3
	tbl.mu.Unlock()
}

// TestBoundedSealTakesWholeGenerations: the commit goroutine starts a new WAL generation
// every SealRows rows; a background (bounded) seal takes the oldest whole generation
// only, deletes its WAL file and keeps the rest in the head; a reopen finds every row once.
func TestBoundedSealTakesWholeGenerations(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, TableDefaults: TableOptions{SealRows: 10}, MaintenanceInterval: -1}
	s := openWith(t, dir, opts)
	for c := range 5 {
		rec := mkBatch(col{"id", []int64{int64(4 * c), int64(4*c + 1), int64(4*c + 2), int64(4*c + 3)}})
		mustWrite(t, s, "t", rec)
		rec.Release()
	}
	tbl := mustTable(t, s, "t")
	// Generation 1 holds calls 1-3 (12 rows, crossing 10), generation 2 calls 4-5.
	for g, want := range map[uint64]bool{1: true, 2: true, 3: false} {
		if _, err := os.Stat(filepath.Join(dir, tablesDirName, "t", walName(g))); (err == nil) != want {
			t.Fatalf("WAL generation %d exists: %v; want %v", g, err == nil, want)
		}
	}
	if err := tbl.seal(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if st := tbl.Stats(); st.SegmentRows != 12 || st.Rows != 8 {
		t.Fatalf("after a bounded seal: %d rows sealed, %d in the head; want 12 and 8", st.SegmentRows, st.Rows)
	}
	if _, err := os.Stat(filepath.Join(dir, tablesDirName, "t", walName(1))); !os.IsNotExist(err) {
		t.Fatalf("sealed WAL generation 1 still there (stat: %v)", err)
	}
	mustClose(t, s)
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	tbl = mustTable(t, s, "t")
	var ids []int64
	for _, row := range scanRows(t, tbl, []string{"id"}) {
		ids = append(ids, row["id"].(int64))
	}
	slices.Sort(ids)
	want := make([]int64, 20)
	for i := range want {
		want[i] = int64(i)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids after reopen: %v; want 0..19 once each", ids)
	}
	if st := tbl.Stats(); st.SegmentRows != 12 || st.Rows != 8 {
		t.Fatalf("after reopen: %d rows in segments, %d in the head; want 12 and 8", st.SegmentRows, st.Rows)
	}
}
