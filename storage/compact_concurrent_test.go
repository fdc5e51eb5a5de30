package storage

import (
	"context"
	"sync"
	"testing"
)

// TestSealAndCompactionConcurrently runs seals and compactions at the same time (a
// compaction no longer takes the maintenance lock a seal holds): writers keep sealing
// small segments into one window while Compact merges them over and over. No segment
// file name is used twice (ids are reserved, not read from the manifest), a seal whose
// manifest a merge changed meanwhile makes it again instead of losing its segments
// (SealRemade), and every row is found exactly once, before and after a reopen.
func TestSealAndCompactionConcurrently(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Tables: map[string]TableOptions{"t": {Shards: 1}}}
	s := openWith(t, dir, opts)
	ctx := context.Background()
	next := 0
	sealSkipBatches(t, s, &next, 0, 4, 50, 40)
	tbl := mustTable(t, s, "t")
	const rounds = 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var compactErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := tbl.Compact(ctx); err != nil {
				compactErr = err
				return
			}
		}
	}()
	for range rounds {
		b := skipBatch(0, next, 50, 40)
		mustWrite(t, s, "t", b)
		b.Release()
		next += 50
		if err := tbl.Seal(ctx); err != nil {
			t.Fatalf("Seal: %v", err)
		}
	}
	close(stop)
	wg.Wait()
	if compactErr != nil {
		t.Fatalf("Compact: %v", compactErr)
	}
	st := tbl.Stats()
	t.Logf("%d seals, %d compactions, %d manifests made again", st.Seals, st.Compactions, st.SealRemade)
	if st.Compactions == 0 {
		t.Fatal("no compaction ran alongside the seals")
	}
	checkEveryRowOnce(t, tbl, next)
	mustClose(t, s)
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	checkEveryRowOnce(t, mustTable(t, s, "t"), next)
}
