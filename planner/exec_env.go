package planner

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// execEnv is what one execution of a query shares between its operators.
type execEnv struct {
	mem      memory.Allocator
	budget   *memBudget
	parallel int
	// stats collects rows and time per plan node when analyze is set.
	analyze bool
	stats   map[logicalNode]*opStats
}

// memBudget is a query's memory limit for what operators buffer (hash tables, sort
// buffers, join build sides, exchange queues). It is shared by the query's workers.
type memBudget struct {
	limit int64 // bytes; 0: unlimited
	used  atomic.Int64
	peak  atomic.Int64
}

// grow accounts n more bytes and fails with ErrMemoryLimit when the limit is passed.
func (m *memBudget) grow(n int64) error {
	if m == nil {
		return nil
	}
	u := m.used.Add(n)
	for {
		p := m.peak.Load()
		if u <= p || m.peak.CompareAndSwap(p, u) {
			break
		}
	}
	if m.limit > 0 && u > m.limit {
		return m.fail("query", u)
	}
	return nil
}

// shrink returns n bytes.
func (m *memBudget) shrink(n int64) {
	if m != nil {
		m.used.Add(-n)
	}
}

// fail returns the error for a query that needs need bytes.
func (m *memBudget) fail(what string, need int64) error {
	limit := int64(0)
	if m != nil {
		limit = m.limit
	}
	return fmt.Errorf("%w: the %s needs more than the limit of %s (about %s buffered); add filters, reduce the groups or raise the query memory limit",
		ErrMemoryLimit, what, formatBytes(limit), formatBytes(need))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// opStats counts what one plan node's operators produced, across workers.
type opStats struct {
	rows, batches, nanos atomic.Int64
	workers              atomic.Int64
}

func (s *opStats) String() string {
	d := time.Duration(s.nanos.Load())
	w := ""
	if n := s.workers.Load(); n > 1 {
		w = fmt.Sprintf(" workers=%d", n)
	}
	return fmt.Sprintf("  (rows=%d batches=%d time=%s%s)", s.rows.Load(), s.batches.Load(), d.Round(time.Microsecond), w)
}
