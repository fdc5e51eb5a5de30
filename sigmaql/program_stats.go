package sigmaql

import (
	"sync/atomic"
	"time"
)

// ruleStats are one rule's counters, updated atomically by concurrent Evals.
type ruleStats struct {
	hits    atomic.Int64 // matching rows
	evals   atomic.Int64 // batches on which the rule's condition was evaluated
	skipped atomic.Int64 // batches on which the rule's logsource selected no row
	nanos   atomic.Int64 // time spent in the rule's condition, including leaves it computed first
}

// RuleStats is a snapshot of one rule's statistics since compilation. Cost is the
// time spent evaluating the rule's condition, including the leaves and column passes it
// was the first to need in a batch (so shared leaves are charged to the first rule that
// asked for them); it is a measure of where time goes, not an exact partition.
type RuleStats struct {
	Hits    int64         // matching rows
	Evals   int64         // batches where the rule's condition was evaluated
	Skipped int64         // batches skipped because the rule's logsource selected no row
	Cost    time.Duration // evaluation time of the rule's condition
}

// Hits returns, per rule, the number of matching rows seen by Eval since compilation.
func (p *Program) Hits() []int64 {
	out := make([]int64, len(p.stats))
	for i := range p.stats {
		out[i] = p.stats[i].hits.Load()
	}
	return out
}

// RuleStats returns, per rule (indexed like Rules), the statistics accumulated by Eval
// since compilation. It is safe to call while Evals run.
func (p *Program) RuleStats() []RuleStats {
	out := make([]RuleStats, len(p.stats))
	for i := range p.stats {
		s := &p.stats[i]
		out[i] = RuleStats{
			Hits:    s.hits.Load(),
			Evals:   s.evals.Load(),
			Skipped: s.skipped.Load(),
			Cost:    time.Duration(s.nanos.Load()),
		}
	}
	return out
}
