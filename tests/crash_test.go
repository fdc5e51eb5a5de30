package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// crashRowsPerBatch is the number of rows of every batch the crash test ingests; each row
// of a batch carries the batch's unique id, so a batch found with any other row count was
// stored in part (or twice).
const crashRowsPerBatch = 64

// TestCrashRealBinary ingests continuously into the real binary with several concurrent
// clients, SIGKILLs it at random moments, restarts it on the same data directory, and
// checks after every restart that every acknowledged batch is present exactly once and
// whole, that no batch is present in part, and that the node opened its data without
// reporting corruption.
//
// SIGMAFLIGHT_CRASH_KILLS sets the number of kills (default 50; `make crash-long` runs
// 500); SIGMAFLIGHT_CRASH_SEED fixes the random schedule (the seed is logged).
func TestCrashRealBinary(t *testing.T) {
	kills := envInt(t, "SIGMAFLIGHT_CRASH_KILLS", 50)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SIGMAFLIGHT_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIGMAFLIGHT_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("kills=%d seed=%d (rerun with SIGMAFLIGHT_CRASH_SEED=%d)", kills, seed, seed)
	// Seal every ~2,000 rows so that kills also land during sealing (WAL rotation,
	// Parquet segments, manifest swaps) and compaction, not only during WAL appends.
	t.Setenv("SIGMAFLIGHT_STORAGE_SEAL_ROWS", envOr("SIGMAFLIGHT_STORAGE_SEAL_ROWS", "2000"))
	// A manifest log of at most 16 KiB (or the checkpoint's size), so that kills land
	// both while a change is appended to the log and while a checkpoint replaces it.
	t.Setenv("SIGMAFLIGHT_STORAGE_MANIFEST_LOG_BYTES", envOr("SIGMAFLIGHT_STORAGE_MANIFEST_LOG_BYTES", "16384"))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	dir := filepath.Join(t.TempDir(), "data")
	const table = "crash_events"
	acked := map[string]bool{}     // every batch id acknowledged so far
	attempted := map[string]bool{} // every batch id sent, acknowledged or not
	var totalAcked, totalErrors int
	ctx := context.Background()

	for round := 0; round <= kills; round++ {
		n := startNode(t, dir)
		// startNode fails the test if the node exits before serving, which is what a
		// store refusing to open corrupt data does.
		c := n.flightSQLClient()
		verifyCrashTable(ctx, t, c, table, round, acked, attempted)
		if round == kills {
			n.stop() // the last round only verifies, then stops cleanly
			break
		}

		// Ingest from 4 clients until the kill.
		var (
			mu   sync.Mutex
			wg   sync.WaitGroup
			stop = make(chan struct{})
		)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := 0; ; seq++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("r%03d-w%d-%05d", round, w, seq)
					mu.Lock()
					attempted[id] = true
					mu.Unlock()
					rec := crashBatch(id, seq)
					rdr, _ := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					got, err := c.ExecuteIngest(cctx, rdr, &flightsql.ExecuteIngestOpts{
						TableDefinitionOptions: &flightsql.TableDefinitionOptions{
							IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
							IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
						},
						Table: table,
					})
					cancel()
					rdr.Release()
					rec.Release()
					mu.Lock()
					if err == nil {
						if got != crashRowsPerBatch {
							mu.Unlock()
							t.Errorf("batch %s: ingest acknowledged %d rows; want %d", id, got, crashRowsPerBatch)
							return
						}
						acked[id] = true
						totalAcked++
					} else {
						totalErrors++
					}
					mu.Unlock()
					if err != nil {
						return // the node is gone
					}
				}
			}()
		}
		// The first round creates the table; give it a moment so that kills land mostly
		// on appends, then kill at a random moment within the next ~250 ms.
		time.Sleep(time.Duration(20+rng.IntN(250)) * time.Millisecond)
		n.kill()
		close(stop)
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	t.Logf("acknowledged %d batches (%d rows) across %d kills; %d writes failed at a kill",
		totalAcked, totalAcked*crashRowsPerBatch, kills, totalErrors)
	if totalAcked < kills {
		t.Fatalf("only %d batches acknowledged across %d rounds; the test did not exercise ingest", totalAcked, kills)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "tables", table, "seg-*.parquet"))
	t.Logf("%d segment files at the end", len(segs))
	// The manifest: a checkpoint holding changes up to its seq, and a log of the changes
	// since; with a 16 KiB log both were written many times.
	var cp struct{ Seq uint64 }
	if data, err := os.ReadFile(filepath.Join(dir, "tables", table, "MANIFEST")); err != nil || json.Unmarshal(data, &cp) != nil {
		t.Fatalf("read the manifest checkpoint: %v", err)
	}
	logInfo, err := os.Stat(filepath.Join(dir, "tables", table, "MANIFEST.log"))
	if err != nil {
		t.Fatalf("the manifest log: %v", err)
	}
	t.Logf("manifest checkpoint at change %d, %d bytes of log after it", cp.Seq, logInfo.Size())
	if cp.Seq < 2 {
		t.Fatalf("manifest checkpoint at change %d: the test did not exercise checkpoints after the first", cp.Seq)
	}
	if len(segs) == 0 {
		t.Fatalf("no sealed segments in %s: the test did not exercise sealing", dir)
	}
}

// crashBatch builds one batch: crashRowsPerBatch rows all carrying id, plus a row number
// and some text so that frames are not trivially small.
func crashBatch(id string, seq int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "batch_id", Type: arrow.BinaryTypes.String},
		{Name: "rownum", Type: arrow.PrimitiveTypes.Int64},
		{Name: "CommandLine", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range crashRowsPerBatch {
		b.Field(0).(*array.StringBuilder).Append(id)
		b.Field(1).(*array.Int64Builder).Append(int64(i))
		b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf(`C:\Windows\system32\cmd.exe /c echo %d %d`, seq, i))
	}
	return b.NewRecordBatch()
}

// verifyCrashTable reads every batch id in the table and checks: each acknowledged id has
// exactly crashRowsPerBatch rows, each other id seen was at least attempted and has
// exactly crashRowsPerBatch rows (a write not acknowledged may or may not be stored, but
// never in part), and every row number 0..crashRowsPerBatch-1 appears once per batch.
func verifyCrashTable(ctx context.Context, t *testing.T, c *flightsql.Client, table string, round int, acked, attempted map[string]bool) {
	t.Helper()
	if len(attempted) == 0 {
		return // the table does not exist yet
	}
	counts := map[string]int{}
	rowsSeen := map[string]uint64{}
	info, err := c.Execute(ctx, fmt.Sprintf(`SELECT batch_id, rownum FROM %s`, table))
	if err != nil {
		if len(acked) == 0 {
			return // nothing was acknowledged, so the table may legitimately not exist
		}
		t.Fatalf("round %d: query: %v", round, err)
	}
	for _, ep := range info.Endpoint {
		rdr, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			t.Fatalf("round %d: DoGet: %v", round, err)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			ids := rec.Column(0).(*array.String)
			rows := rec.Column(1).(*array.Int64)
			for i := range ids.Len() {
				id := ids.Value(i)
				counts[id]++
				r := rows.Value(i)
				if r < 0 || r >= crashRowsPerBatch {
					t.Fatalf("round %d: batch %s has row number %d", round, id, r)
				}
				if rowsSeen[id]&(1<<r) != 0 {
					t.Fatalf("round %d: batch %s has row %d twice: stored more than once", round, id, r)
				}
				rowsSeen[id] |= 1 << r
			}
		}
		if err := rdr.Err(); err != nil {
			t.Fatalf("round %d: read results: %v", round, err)
		}
		rdr.Release()
	}
	for id := range acked {
		if counts[id] != crashRowsPerBatch {
			t.Fatalf("round %d: acknowledged batch %s has %d rows after restart; want %d", round, id, counts[id], crashRowsPerBatch)
		}
	}
	for id, n := range counts {
		if !attempted[id] {
			t.Fatalf("round %d: found batch %s that was never sent", round, id)
		}
		if n != crashRowsPerBatch {
			t.Fatalf("round %d: unacknowledged batch %s is stored in part: %d of %d rows", round, id, n, crashRowsPerBatch)
		}
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
