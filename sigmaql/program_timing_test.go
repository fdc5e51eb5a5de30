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
	"runtime/metrics"
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

// rateClock is the wall and process CPU time at the start of a measured loop.
type rateClock struct {
	wall time.Time
	cpu  time.Duration
}

func startClock() rateClock { return rateClock{time.Now(), processCPU()} }

// processCPU is the user+system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports, for rows evaluated n times since clk: events/s (wall clock),
// events/s/core (wall clock divided by GOMAXPROCS: what a dedicated machine gives per
// core) and events/cpu-s (events per second of CPU the whole process used, GC included:
// the per-core throughput that does not depend on other load on a shared machine).
func reportRate(b *testing.B, n int, rows int64, clk rateClock) {
	events := float64(n) * float64(rows)
	rate := events / time.Since(clk.wall).Seconds()
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(rate/float64(runtime.GOMAXPROCS(0)), "events/s/core")
	if cpu := processCPU() - clk.cpu; cpu > 0 {
		b.ReportMetric(events/cpu.Seconds(), "events/cpu-s")
	}
}

// reportPeakRSS reports the process's peak resident memory so far, in MiB.
func reportPeakRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
	}
}

// heapSampler records the peak of the Go heap (live and not yet collected objects)
// while it runs, sampling every millisecond.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak uint64
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peak heap in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak
}

// heapLive is the Go heap in use after a full collection, in bytes.
func heapLive() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
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
				start := startClock()
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
// process-creation events (EventID 1) of every OTRF recording (a few hundred real
// events), repeated to a batch of processCreationRows rows: a realistic column mix and
// value repetition for the category, with a fixed per-batch overhead kept small.
func BenchmarkEvalProcessCreation(b *testing.B) {
	win := sigmahqWindows(b)
	rs := win.Subset(func(r *Rule) bool { return r.Logsource.Category == "process_creation" })
	var events []map[string]any
	names, err := filepath.Glob(filepath.Join(otrfDir, "*.zip"))
	if err != nil || len(names) == 0 {
		b.Fatalf("no OTRF recordings in %s: %v", otrfDir, err)
	}
	for _, path := range names {
		for _, ev := range readOTRFJSON(b, filepath.Base(path)) {
			if n, ok := ev["EventID"].(json.Number); ok && n.String() == "1" && ev["Image"] != nil {
				events = append(events, ev)
			}
		}
	}
	if len(events) == 0 {
		b.Fatal("no process-creation events in the OTRF recordings")
	}
	distinct := len(events)
	for len(events) < processCreationRows {
		events = append(events, events[:min(len(events), processCreationRows-len(events))]...)
	}
	rec := eventsToBatch(events)
	// The reference evaluator manages ~40 of these events per CPU second (long command
	// lines through per-row regexes): it runs on the first 200 rows.
	small := rec.NewSlice(0, 200)
	p, err := rs.Compile(rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range []struct {
		name string
		rec  arrow.RecordBatch
		eval func(arrow.RecordBatch) error
	}{
		{"columnar", rec, func(r arrow.RecordBatch) error { _, err := p.Eval(context.Background(), r); return err }},
		{"reference", small, func(r arrow.RecordBatch) error { _, err := ReferenceEval(rs, r); return err }},
	} {
		b.Run("rules=process_creation/engine="+e.name, func(b *testing.B) {
			b.ReportAllocs()
			start := startClock()
			n := 0
			for b.Loop() {
				if err := e.eval(e.rec); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportRate(b, n, e.rec.NumRows(), start)
			b.ReportMetric(float64(distinct), "source-events")
		})
	}
}

// processCreationRows is the batch size of BenchmarkEvalProcessCreation.
const processCreationRows = 32768

// BenchmarkEvalJSON measures the whole SigmaHQ windows ruleset from JSON lines: decoding
// and batch building included.
func BenchmarkEvalJSON(b *testing.B) {
	data := readOTRFBytes(b, benchRecording)
	rs := sigmahqWindows(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	start := startClock()
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
	before := heapLive()
	start := time.Now()
	p, err := rs.Compile(full.rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	compile := time.Since(start)
	program := heapLive()
	b.ResetTimer()
	clk := startClock()
	hs := startHeapSampler()
	n := 0
	for b.Loop() {
		if _, err := p.Eval(context.Background(), full.rec); err != nil {
			b.Fatal(err)
		}
		n++
	}
	peak := hs.Stop()
	reportRate(b, n, full.rec.NumRows(), clk)
	b.ReportMetric(float64(len(rs.Rules)), "rules")
	b.ReportMetric(compile.Seconds(), "compile-s")
	// program-MiB: the compiled program alone (heap after compiling minus before, after
	// full collections); eval-peak-heap-MiB: the peak Go heap while evaluating, which
	// holds the rules, the program, the batch and every evaluation's state.
	b.ReportMetric(float64(program-min(program, before))/(1<<20), "program-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "eval-peak-heap-MiB")
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
