package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// metrics are the node's Prometheus metrics, registered on a registry of their own so
// tests can start several nodes in one process.
type metrics struct {
	registry      *prometheus.Registry
	rowsIngested  prometheus.Counter
	bytesIngested prometheus.Counter
	rowsReturned  prometheus.Counter
	queries       prometheus.Counter
	queryErrors   prometheus.Counter
	queryDuration prometheus.Histogram
	tables        prometheus.GaugeFunc
	rpcs          *prometheus.CounterVec
	rpcErrors     *prometheus.CounterVec
	rpcLatency    *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	detections    *detectionCounter
	forgedHandles prometheus.Counter
	malformedIPC  prometheus.Counter
}

func newMetrics(tableCount func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		rowsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_ingest_rows_total", Help: "Rows acknowledged to ingest clients (durable on disk).",
		}),
		bytesIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_ingest_bytes_total", Help: "Arrow buffer bytes of the rows acknowledged to ingest clients.",
		}),
		rowsReturned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_query_rows_returned_total", Help: "Rows streamed to query clients.",
		}),
		queries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_queries_total", Help: "Queries executed (streams started).",
		}),
		queryErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_query_errors_total", Help: "Queries that failed to plan or start.",
		}),
		queryDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sigmaflight_query_duration_seconds", Help: "Time from execution start to the end of the result stream.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		tables: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sigmaflight_tables", Help: "Event tables in the store.",
		}, tableCount),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigmaflight_rpc_total", Help: "Flight RPCs by method and gRPC status code.",
		}, []string{"method", "code"}),
		rpcErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigmaflight_rpc_errors_total", Help: "Flight RPCs that ended with a status other than OK, by method.",
		}, []string{"method"}),
		rpcLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sigmaflight_rpc_duration_seconds", Help: "Flight RPC duration by method (streams: until the last message).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 11),
		}, []string{"method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sigmaflight_rpc_in_flight", Help: "Flight RPCs being served.",
		}),
		detections: &detectionCounter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sigmaflight_detections_total", Help: "Detection rows (event, rule) returned to clients by detect() queries, by rule id (at most 5000 ids; the rest as \"other\").",
		}, []string{"rule_id"}), seen: map[string]struct{}{}},
		forgedHandles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_invalid_handles_total", Help: "Statement handles or tickets refused: forged, altered, expired or malformed.",
		}),
		malformedIPC: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_malformed_ipc_total", Help: "DoPut streams refused because their Arrow IPC data could not be decoded safely.",
		}),
	}
	m.registry.MustRegister(m.rowsIngested, m.bytesIngested, m.rowsReturned, m.queries, m.queryErrors, m.queryDuration,
		m.tables, m.rpcs, m.rpcErrors, m.rpcLatency, m.inFlight, m.detections.vec, m.forgedHandles, m.malformedIPC,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// rpcMiddleware counts every Flight RPC by method and status code, times it, and logs it:
// at debug level when it succeeds or fails on the client's side, at warn level for
// failures of the server (Internal, Unknown, Unavailable, DataLoss). It runs outermost, so
// calls refused by authentication are counted and logged too.
func (m *metrics) rpcMiddleware(log *slog.Logger) flight.ServerMiddleware {
	observe := func(ctx context.Context, method string, start time.Time, err error) {
		method = method[strings.LastIndexByte(method, '/')+1:]
		code := status.Code(err)
		elapsed := time.Since(start)
		m.rpcs.WithLabelValues(method, code.String()).Inc()
		if err != nil {
			m.rpcErrors.WithLabelValues(method).Inc()
		}
		m.rpcLatency.WithLabelValues(method).Observe(elapsed.Seconds())
		level := slog.LevelDebug
		switch code {
		case codes.Internal, codes.Unknown, codes.Unavailable, codes.DataLoss:
			level = slog.LevelWarn
		}
		if !log.Enabled(ctx, level) {
			return
		}
		attrs := []any{"method", method, "code", code.String(), "duration", elapsed}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			attrs = append(attrs, "peer", p.Addr.String())
		}
		if err != nil {
			attrs = append(attrs, "error", status.Convert(err).Message())
		}
		log.Log(ctx, level, "rpc", attrs...)
	}
	return flight.ServerMiddleware{
		Unary: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			resp, err := handler(ctx, req)
			observe(ctx, info.FullMethod, start, err)
			return resp, err
		},
		Stream: func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			start := time.Now()
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			err := handler(srv, ss)
			observe(ss.Context(), info.FullMethod, start, err)
			return err
		},
	}
}

// maxDetectionLabels bounds the distinct rule_id label values of the detections metric.
// Any result with a rule_id string column is counted (a user table may have one, with any
// values), so without a bound a reader could create unbounded series in the registry and
// in every Prometheus scraping it. 5000 covers every SigmaHQ rule.
const maxDetectionLabels = 5000

// detectionOtherLabel is the rule_id label of the detections past maxDetectionLabels.
const detectionOtherLabel = "other"

// detectionCounter counts detections by rule id, for at most maxDetectionLabels ids.
type detectionCounter struct {
	vec  *prometheus.CounterVec
	mu   sync.Mutex
	seen map[string]struct{}
}

// add counts n detections of rule id, under detectionOtherLabel once the bound is reached.
func (d *detectionCounter) add(id string, n int) {
	d.mu.Lock()
	if _, ok := d.seen[id]; !ok {
		if len(d.seen) >= maxDetectionLabels {
			id = detectionOtherLabel
		} else {
			d.seen[id] = struct{}{}
		}
	}
	d.mu.Unlock()
	d.vec.WithLabelValues(id).Add(float64(n))
}

// countingReader counts the rows a record reader yields, and for detect() results the
// detections per rule.
type countingReader struct {
	array.RecordReader
	rows       prometheus.Counter
	detections *detectionCounter
}

func (c *countingReader) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	rec := c.RecordReader.RecordBatch()
	c.rows.Add(float64(rec.NumRows()))
	if c.detections != nil {
		if idx := rec.Schema().FieldIndices("rule_id"); len(idx) == 1 {
			if ids, ok := rec.Column(idx[0]).(*array.String); ok {
				counts := map[string]int{}
				for i := 0; i < ids.Len(); i++ {
					if ids.IsValid(i) {
						counts[ids.Value(i)]++
					}
				}
				for id, n := range counts {
					c.detections.add(id, n)
				}
			}
		}
	}
	return true
}

// Err forwards the wrapped reader's error, which the stream reports.
func (c *countingReader) Err() error {
	if e, ok := c.RecordReader.(interface{ Err() error }); ok {
		return e.Err()
	}
	return nil
}
