package sigmaql

import (
	"context"
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
	want, _ := p.Eval(context.Background(), b.rec)
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
