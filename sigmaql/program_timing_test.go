package sigmaql

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// benchRecording is the recording BenchmarkEval runs over; BENCH_RECORDING-style
// overrides are deliberately not offered so figures stay comparable across commits.
const benchRecording = "empire_dcom_shellwindows_stager.zip"

// referenceSigmaHQRows bounds the rows the reference evaluator runs over with the whole
// SigmaHQ windows ruleset (about 500 events/s): the full batch would take minutes. Its
// events/s are scaled to rows it actually evaluated, so ratios stay comparable.
const referenceSigmaHQRows = 1000

// reportRate reports events/s and events/s per core (GOMAXPROCS) for rows evaluated n
// times since start.
func reportRate(b *testing.B, n int, rows int64, start time.Time) {
	rate := float64(n) * float64(rows) / time.Since(start).Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/float64(runtime.GOMAXPROCS(0)), "events/s/core")
}

// reportPeakRSS reports the process's peak resident memory so far, in MiB.
func reportPeakRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	}
}

// BenchmarkEval measures rule evaluation from Arrow batches (decoding excluded) over one
// mixed OTRF recording (32,706 events) with the example ruleset and every loadable
// SigmaHQ windows rule, for the columnar Program and the reference evaluator (on the
// first referenceSigmaHQRows rows with SigmaHQ). Bytes are the recording's JSON bytes,
// pro rata.
func BenchmarkEval(b *testing.B) {
	full := mustLoadOTRF(b, benchRecording)
	sets := []*Ruleset{mustLoadExamples(b), sigmahqWindows(b)}
	for _, rs := range sets {
		start := time.Now()
		p, err := rs.Compile(full.rec.Schema())
		if err != nil {
			b.Fatalf("compile: %v", err)
		}
		compile := time.Since(start)
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
				reportRate(b, n, rows, start)
				if e.name == "columnar" {
					b.ReportMetric(compile.Seconds(), "compile-s")
					reportPeakRSS(b)
				}
			})
		}
	}
}

// BenchmarkEvalProcessCreation measures the process_creation rules over the Sysmon
// process-creation events (EventID 1) of the benchmark recording.
func BenchmarkEvalProcessCreation(b *testing.B) {
	win := sigmahqWindows(b)
	rs := win.Subset(func(r *Rule) bool { return r.Logsource.Category == "process_creation" })
	// Keep the EventID 1 rows only.
	var events []map[string]any
	for _, ev := range readOTRFJSON(b, benchRecording) {
		if n, ok := ev["EventID"].(json.Number); ok && n.String() == "1" {
			events = append(events, ev)
		}
	}
	if len(events) == 0 {
		b.Fatal("no process-creation events in the benchmark recording")
	}
	rec := eventsToBatch(events)
	p, err := rs.Compile(rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range []struct {
		name string
		eval func() error
	}{
		{"columnar", func() error { _, err := p.Eval(context.Background(), rec); return err }},
		{"reference", func() error { _, err := ReferenceEval(rs, rec); return err }},
	} {
		b.Run("rules=process_creation/engine="+e.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := e.eval(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportRate(b, n, rec.NumRows(), start)
		})
	}
}

// BenchmarkEvalJSON measures the whole SigmaHQ windows ruleset from JSON lines: decoding
// and batch building included.
func BenchmarkEvalJSON(b *testing.B) {
	data := readOTRFBytes(b, benchRecording)
	rs := sigmahqWindows(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := time.Now()
	n, rows := 0, int64(0)
	for b.Loop() {
		var events []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var ev map[string]any
			if dec.Decode(&ev) == nil {
				events = append(events, ev)
			}
		}
		rec := eventsToBatch(events)
		p, err := rs.Compile(rec.Schema())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Eval(context.Background(), rec); err != nil {
			b.Fatal(err)
		}
		rows = rec.NumRows()
		n++
	}
	reportRate(b, n, rows, start)
}

// BenchmarkCompile measures compiling every loadable SigmaHQ rule (all products) for one
// schema, cold: the shared matcher cache is emptied first.
func BenchmarkCompile(b *testing.B) {
	rec := mustLoadOTRF(b, benchRecording)
	rules, _ := mustLoadSigmaHQ(b)
	b.ReportAllocs()
	for b.Loop() {
		resetMatcherCache()
		if _, err := compileProgram(rules, rec.rec.Schema()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rules)), "rules")
}

// BenchmarkEval10k evaluates a ruleset of over 10,000 rules (the SigmaHQ windows rules
// four times, three copies with mutated literals) and reports the peak memory.
func BenchmarkEval10k(b *testing.B) {
	full := mustLoadOTRF(b, benchRecording)
	win := sigmahqWindows(b)
	rs := &Ruleset{Name: "10k", Rules: append([]*Rule(nil), win.Rules...)}
	files := map[string]bool{}
	for _, r := range win.Rules {
		files[r.File] = true
	}
	for _, suffix := range []string{"1", "2", "3"} {
		for f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			mut := strings.NewReplacer(".exe", ".ex"+suffix, "\\\\", "\\\\"+suffix, ".dll", ".dl"+suffix).Replace(string(data))
			rules, _ := ParseRules(filepath.Base(f)+"#"+suffix, []byte(mut))
			rs.Rules = append(rs.Rules, rules...)
		}
	}
	if len(rs.Rules) < 10000 {
		b.Fatalf("got %d rules; want at least 10,000", len(rs.Rules))
	}
	start := time.Now()
	p, err := rs.Compile(full.rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(start)
	b.ResetTimer()
	start = time.Now()
	n := 0
	for b.Loop() {
		if _, err := p.Eval(context.Background(), full.rec); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportRate(b, n, full.rec.NumRows(), start)
	b.ReportMetric(float64(len(rs.Rules)), "rules")
	b.ReportMetric(compile.Seconds(), "compile-s")
	reportPeakRSS(b)
}

func readOTRFBytes(b *testing.B, name string) []byte {
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		b.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.File[0].Open()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func readOTRFJSON(b *testing.B, name string) []map[string]any {
	var events []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(readOTRFBytes(b, name)))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var ev map[string]any
		if dec.Decode(&ev) == nil {
			events = append(events, ev)
		}
	}
	return events
}
