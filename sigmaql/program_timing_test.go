package sigmaql

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// benchRecording is the recording BenchmarkEval runs over; BENCH_RECORDING-style
// overrides are deliberately not offered so figures stay comparable across commits.
const benchRecording = "empire_dcom_shellwindows_stager.zip"

// referenceSigmaHQRows bounds the rows the reference evaluator runs over with the whole
// SigmaHQ windows ruleset (about 200 events/s): the full batch would take minutes.
const referenceSigmaHQRows = 1000

// BenchmarkEval measures rule evaluation over one OTRF recording (32,706 events) with the
// example ruleset and with every loadable SigmaHQ windows rule, for the columnar Program
// and the reference evaluator. Bytes are the recording's JSON bytes (pro rata when the
// reference runs on the first referenceSigmaHQRows rows only).
func BenchmarkEval(b *testing.B) {
	full := mustLoadOTRF(b, benchRecording)
	sets := []*Ruleset{mustLoadExamples(b), sigmahqWindows(b)}
	for _, rs := range sets {
		p, err := rs.Compile(full.rec.Schema())
		if err != nil {
			b.Fatalf("compile: %v", err)
		}
		small := full.rec
		if rs.Name != "examples" {
			small = full.rec.NewSlice(0, referenceSigmaHQRows)
		}
		engines := []struct {
			name string
			rec  arrow.RecordBatch
			eval func(arrow.RecordBatch) error
		}{
			{"columnar", full.rec, func(r arrow.RecordBatch) error { _, err := p.Eval(context.Background(), r); return err }},
			{"reference", small, func(r arrow.RecordBatch) error { _, err := ReferenceEval(rs, r); return err }},
		}
		for _, e := range engines {
			b.Run("rules="+rs.Name+"/engine="+e.name, func(b *testing.B) {
				rows := e.rec.NumRows()
				b.SetBytes(full.jsonBytes * rows / full.rec.NumRows())
				b.ReportAllocs()
				start := time.Now()
				n := 0
				for b.Loop() {
					if err := e.eval(e.rec); err != nil {
						b.Fatal(err)
					}
					n++
				}
				b.ReportMetric(float64(n)*float64(rows)/time.Since(start).Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkCompile measures compiling every loadable SigmaHQ windows rule for one schema.
func BenchmarkCompile(b *testing.B) {
	rec := mustLoadOTRF(b, benchRecording)
	rs := sigmahqWindows(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compileProgram(rs.Rules, rec.rec.Schema()); err != nil {
			b.Fatal(err)
		}
	}
}
