package sigmaql

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestProgramConcurrentEval runs one Program on several batches at once (run with -race)
// and checks the compile cache returns the same Program for the same schema.
func TestProgramConcurrentEval(t *testing.T) {
	rs := mustLoadExamples(t)
	b := mustLoadOTRF(t, "psh_lsass_memory_dump_comsvcs.zip")
	p, err := rs.Compile(b.rec.Schema())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if p2, _ := rs.Compile(b.rec.Schema()); p2 != p {
		t.Errorf("got a new program for the same schema; want the cached one")
	}
	want, err := ReferenceEval(rs, b.rec)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	if len(want) == 0 {
		t.Fatalf("the reference finds no match in the recording; the test needs some")
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := p.Eval(context.Background(), b.rec.NewSlice(0, b.rec.NumRows()))
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("got %v, %v; want %v", got, err, want)
			}
		}()
	}
	wg.Wait()
	if hits := p.Hits(); slices.Max(hits) == 0 {
		t.Errorf("got no hits; want per-rule counters to move")
	}
}

// TestProgramParallelPasses checks the parallel Eval (column passes on several
// goroutines, pooled states reused across batches) against the single-goroutine
// evaluation, over different slices of a mixed recording evaluated concurrently and in
// turn (run with -race).
func TestProgramParallelPasses(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	full := mustLoadOTRF(t, benchRecording)
	rs := sigmahqWindows(t)
	p, err := rs.Compile(full.rec.Schema())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	n := full.rec.NumRows()
	slicesOf := [][2]int64{{0, n}, {100, 100 + 3*parallelMinRows}, {n - 2*parallelMinRows - 7, n}}
	var wg sync.WaitGroup
	for round := 0; round < 2; round++ {
		for _, r := range slicesOf {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec := full.rec.NewSlice(r[0], r[1])
				defer rec.Release()
				want, err := p.evalRows(context.Background(), rec)
				if err != nil {
					t.Errorf("evalRows %v: %v", r, err)
					return
				}
				got, err := p.Eval(context.Background(), rec)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("rows %v: got %d matches, %v; want %d matches (single goroutine)", r, len(got), err, len(want))
				}
				if len(want) == 0 {
					t.Errorf("rows %v: no matches; want some (the recording has detections)", r)
				}
			}()
		}
		wg.Wait()
	}
}
