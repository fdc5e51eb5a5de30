// Package sigmaql is the Sigma rule language: YAML rules to a typed AST with per-rule
// diagnostics, compilation of a whole ruleset into a columnar Program over Arrow record
// batches, and a row-at-a-time reference evaluator used as test oracle and benchmark
// baseline. It imports arrow only.
package sigmaql

import (
	"errors"
	"fmt"
	"sync"
)

var (
	// ErrSchema is returned by Compile when the schema cannot be used (nil schema).
	ErrSchema = errors.New("sigmaql: unusable schema")
	// ErrSchemaMismatch is returned by Eval when the batch's schema differs from the
	// schema the Program was compiled for.
	ErrSchemaMismatch = errors.New("sigmaql: batch schema differs from the program's schema")
	// ErrKernel is returned by Eval when a kernel panicked; it indicates a bug.
	ErrKernel = errors.New("sigmaql: kernel failure")
)

// Logsource is a rule's abstract selector of the event stream.
type Logsource struct {
	Category string
	Product  string
	Service  string
}

// Rule is one parsed Sigma detection rule. Exported fields are metadata; the detection
// itself is kept unexported and is evaluated through a Program or the reference evaluator.
type Rule struct {
	ID          string
	Title       string
	Level       string
	Status      string
	Description string
	Tags        []string
	// Logsource is the rule's logsource as written (pipelines see their own copy).
	Logsource Logsource
	// File and Line locate the rule's document in its source.
	File string
	Line int

	// Name is the optional unique handle used by correlation rules.
	Name           string
	Author         string
	Date           string
	Modified       string
	References     []string
	FalsePositives []string

	// Filters lists the ids of the filter documents applied to the rule.
	Filters []string
	// CorrelationOnly is set when the rule is referenced by a correlation without
	// 'generate: true': its matches feed the correlation and are not alerts of their own.
	CorrelationOnly bool

	det *detection
}

// Diagnostic reports a rule that did not load (Error) or a lint finding (Warning),
// located by file, line and column.
type Diagnostic struct {
	File    string
	Line    int
	Column  int
	RuleID  string
	Warning bool
	Message string
}

// String renders the diagnostic as "file:line:col: message (rule id)".
func (d Diagnostic) String() string {
	kind := "error"
	if d.Warning {
		kind = "warning"
	}
	s := fmt.Sprintf("%s:%d:%d: %s: %s", d.File, d.Line, d.Column, kind, d.Message)
	if d.RuleID != "" {
		s += " (rule " + d.RuleID + ")"
	}
	return s
}

// Ruleset is a named set of rules compiled on demand for each table schema. Rules must
// not be modified after the first Compile: compiled programs are cached.
type Ruleset struct {
	Name  string
	Rules []*Rule
	// Correlations are the ruleset's correlation rules, evaluated by a Correlator.
	Correlations []*Correlation
	// Pipeline names the processing pipeline the rules were loaded with.
	Pipeline string

	mu       sync.Mutex
	programs map[string]*Program // by schema fingerprint
}

// Match is one (row, rule) pair produced by evaluating a ruleset over a batch. Rule is an
// index into Ruleset.Rules (and Program.Rules).
type Match struct {
	Row  int32
	Rule int32
}

// Subset returns a ruleset holding the rules for which keep returns true, in order.
// The planner uses it to prune rules (by rule_level, rule_id) before evaluation.
func (rs *Ruleset) Subset(keep func(*Rule) bool) *Ruleset {
	out := &Ruleset{Name: rs.Name, Pipeline: rs.Pipeline}
	for _, r := range rs.Rules {
		if keep(r) {
			out.Rules = append(out.Rules, r)
		}
	}
	return out
}
