//go:build loadtest

package clientcompat

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The load test runs only with `make loadtest` (build tag loadtest), never in `make test`.
var (
	loadDuration   = flag.Duration("duration", 5*time.Minute, "how long the load runs")
	loadQueriers   = flag.Int("queriers", 50, "concurrent query clients")
	loadIngesters  = flag.Int("ingesters", 4, "concurrent ingest streams")
	loadIngestRate = flag.Int("ingest-rows-per-sec", 5000, "rows per second per ingest stream")
)

// Memory bound of the node: its resident set may grow by at most this much between the
// end of the warm-up (the first fifth of the run) and the end, while ingest keeps adding
// rows to the in-memory head (each ingest stream adds about 60 bytes per row).
const loadRSSGrowthBound = 768 << 20

// TestLoad runs 50 query clients and 4 ingest streams against one node on loopback for
// -duration and fails on any error or on memory growth beyond loadRSSGrowthBound. It
// reports query throughput, p50/p99 latency, ingest throughput and the node's RSS.
func TestLoad(t *testing.T) {
	n := startNode(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), *loadDuration+2*time.Minute)
	defer cancel()
	setup := n.client()
	for i := 0; i < 10; i++ {
		ingestEvents(ctx, t, setup, "static", 10_000)
	}
	ingestEvents(ctx, t, setup, "live", 1)

	var (
		errs      atomic.Int64
		firstErr  atomic.Value
		queries   atomic.Int64
		ingested  atomic.Int64
		latencyMu sync.Mutex
		latencies []time.Duration
	)
	fail := func(err error) {
		if errs.Add(1) == 1 {
			firstErr.Store(err)
		}
	}
	queriesSQL := []string{
		"SELECT count(*) FROM static WHERE host = 'h1'",
		"SELECT host, event_id, ts FROM static WHERE event_id < 500",
		"SELECT count(*) FROM static WHERE ok = true AND score > 1000",
	}
	// The run ends by cancellation, not by a deadline: gRPC enforces a deadline with its own
	// timer, so a call could fail with DeadlineExceeded a moment before runCtx reports it,
	// and the end of the run would be counted as errors. A cancel marks runCtx done first.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	time.AfterFunc(*loadDuration, stop)
	var wg sync.WaitGroup
	for q := 0; q < *loadQueriers; q++ {
		wg.Add(1)
		go func(q int) {
			defer wg.Done()
			c := n.client()
			ps, err := c.Prepare(runCtx, "SELECT event_id FROM static WHERE host = ? AND event_id < ?")
			if err != nil {
				fail(err)
				return
			}
			defer ps.Close(context.Background())
			for i := q; runCtx.Err() == nil; i++ {
				start := time.Now()
				var err error
				if i%4 == 3 {
					err = preparedQuery(runCtx, c, ps, fmt.Sprintf("h%d", i%3), int64(i%1000))
				} else {
					err = oneQuery(runCtx, c, queriesSQL[i%len(queriesSQL)])
				}
				if runCtx.Err() != nil {
					return
				}
				if err != nil {
					fail(err)
					continue
				}
				queries.Add(1)
				latencyMu.Lock()
				latencies = append(latencies, time.Since(start))
				latencyMu.Unlock()
			}
		}(q)
	}
	for w := 0; w < *loadIngesters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := n.client()
			const batchRows = 1000
			tick := time.NewTicker(time.Second * batchRows / time.Duration(*loadIngestRate))
			defer tick.Stop()
			rec := eventsBatch(batchRows)
			defer rec.Release()
			for runCtx.Err() == nil {
				select {
				case <-tick.C:
				case <-runCtx.Done():
					return
				}
				rdr, _ := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
				got, err := c.ExecuteIngest(runCtx, rdr, &flightsql.ExecuteIngestOpts{Table: "live", TableDefinitionOptions: createOrAppend})
				rdr.Release()
				if runCtx.Err() != nil {
					return
				}
				if err != nil {
					fail(err)
					continue
				}
				ingested.Add(got)
			}
		}()
	}

	// Sample the node's RSS every second.
	var rssWarm, rssPeak, rssEnd int64
	warmAt := time.Now().Add(*loadDuration / 5)
	sampler := time.NewTicker(time.Second)
	began := time.Now()
sampling:
	for {
		select {
		case <-runCtx.Done():
			break sampling
		case <-sampler.C:
			rss := nodeRSS(t, n)
			rssEnd = rss
			if rss > rssPeak {
				rssPeak = rss
			}
			if rssWarm == 0 && time.Now().After(warmAt) {
				rssWarm = rss
			}
		}
	}
	sampler.Stop()
	wg.Wait()
	elapsed := time.Since(began)
	n.alive()

	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(float64(len(latencies))*p))]
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	report := fmt.Sprintf("load: %s, %d query clients, %d ingest streams: %d queries (%.0f/s), p50 %s, p99 %s, max %s; "+
		"%d rows ingested (%.0f rows/s); errors %d; node RSS warm %.0f MiB, peak %.0f MiB, end %.0f MiB (growth bound %.0f MiB)",
		elapsed.Round(time.Second), *loadQueriers, *loadIngesters, queries.Load(), float64(queries.Load())/elapsed.Seconds(),
		pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond),
		ingested.Load(), float64(ingested.Load())/elapsed.Seconds(), errs.Load(), mib(rssWarm), mib(rssPeak), mib(rssEnd), mib(loadRSSGrowthBound))
	t.Log(report)
	fmt.Println(report)
	if e := errs.Load(); e > 0 {
		t.Fatalf("%d errors; first: %v", e, firstErr.Load())
	}
	if queries.Load() == 0 || ingested.Load() == 0 {
		t.Fatalf("no work done: %d queries, %d rows ingested", queries.Load(), ingested.Load())
	}
	if rssWarm > 0 && rssEnd-rssWarm > loadRSSGrowthBound {
		t.Fatalf("node RSS grew by %.0f MiB after warm-up; the bound is %.0f MiB", mib(rssEnd-rssWarm), mib(loadRSSGrowthBound))
	}
}

func oneQuery(ctx context.Context, c *flightsql.Client, sql string) error {
	info, err := c.Execute(ctx, sql)
	if err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return drain(ctx, c, info.Endpoint[0].Ticket.Ticket)
}

func preparedQuery(ctx context.Context, c *flightsql.Client, ps *flightsql.PreparedStatement, host string, limit int64) error {
	sc := arrow.NewSchema([]arrow.Field{{Name: "0", Type: arrow.BinaryTypes.String}, {Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.StringBuilder).Append(host)
	b.Field(1).(*array.Int64Builder).Append(limit)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	ps.SetParameters(rec)
	info, err := ps.Execute(ctx)
	if err != nil {
		return fmt.Errorf("prepared: %w", err)
	}
	return drain(ctx, c, info.Endpoint[0].Ticket.Ticket)
}

func drain(ctx context.Context, c *flightsql.Client, ticket []byte) error {
	rdr, err := c.DoGet(ctx, &flight.Ticket{Ticket: ticket})
	if err != nil {
		return err
	}
	defer rdr.Release()
	for rdr.Next() {
	}
	return rdr.Err()
}

// nodeRSS reads the node process's resident set size from /proc.
func nodeRSS(t *testing.T, n *node) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the node's RSS: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}
