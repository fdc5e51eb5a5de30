package server

import (
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the node's Prometheus metrics, registered on a registry of their own so
// tests can start several nodes in one process.
type metrics struct {
	registry      *prometheus.Registry
	rowsIngested  prometheus.Counter
	rowsReturned  prometheus.Counter
	queries       prometheus.Counter
	queryErrors   prometheus.Counter
	queryDuration prometheus.Histogram
	tables        prometheus.GaugeFunc
}

func newMetrics(tableCount func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		rowsIngested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sigmaflight_ingest_rows_total", Help: "Rows acknowledged to ingest clients (durable on disk).",
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
	}
	m.registry.MustRegister(m.rowsIngested, m.rowsReturned, m.queries, m.queryErrors, m.queryDuration, m.tables,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// countingReader counts the rows a record reader yields into a counter.
type countingReader struct {
	array.RecordReader
	rows prometheus.Counter
}

func (c *countingReader) Next() bool {
	if !c.RecordReader.Next() {
		return false
	}
	c.rows.Add(float64(c.RecordReader.RecordBatch().NumRows()))
	return true
}

// Err forwards the wrapped reader's error, which flight.StreamChunksFromReader reports.
func (c *countingReader) Err() error {
	if e, ok := c.RecordReader.(interface{ Err() error }); ok {
		return e.Err()
	}
	return nil
}
