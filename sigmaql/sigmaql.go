// Package sigmaql is the Sigma rule language: YAML rules to a typed AST with per-rule
// diagnostics, compilation of a whole ruleset into a columnar Program over Arrow record
// batches, and a row-at-a-time reference evaluator used as test oracle and benchmark
// baseline. It imports arrow only.
package sigmaql

import (
	"context"
	"io/fs"

	"github.com/apache/arrow-go/v18/arrow"
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
	Logsource   Logsource
	// File and Line locate the rule's document in its source.
	File string
	Line int

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

// Ruleset is a named set of rules compiled on demand for each table schema.
type Ruleset struct {
	Name  string
	Rules []*Rule
}

// Match is one (row, rule) pair produced by evaluating a ruleset over a batch. Rule is an
// index into Ruleset.Rules (and Program.Rules).
type Match struct {
	Row  int32
	Rule int32
}

// Program is a ruleset compiled against one Arrow schema.
type Program struct{}

// ParseRules parses one YAML file (possibly several documents) into rules. Rules that do
// not load are omitted and reported as diagnostics.
func ParseRules(file string, data []byte) ([]*Rule, []Diagnostic) { panic("TODO") }

// LoadRuleset loads every *.yml/*.yaml file under the given roots of fsys.
func LoadRuleset(name string, fsys fs.FS, roots ...string) (*Ruleset, []Diagnostic, error) {
	panic("TODO")
}

// LoadRulesetPath loads a ruleset from a file or a directory (recursively) on disk.
func LoadRulesetPath(name, path string) (*Ruleset, []Diagnostic, error) { panic("TODO") }

// Compile returns the ruleset's Program for schema; programs are cached per schema.
func (rs *Ruleset) Compile(schema *arrow.Schema) (*Program, error) { panic("TODO") }

// Rules returns the program's rules; Match.Rule indexes this slice.
func (p *Program) Rules() []*Rule { panic("TODO") }

// Eval runs the program over rec and returns the matches ordered by row, then rule.
func (p *Program) Eval(ctx context.Context, rec arrow.RecordBatch) ([]Match, error) {
	panic("TODO")
}

// ReferenceEval is the reference evaluator: row by row, rule by rule.
func ReferenceEval(rs *Ruleset, rec arrow.RecordBatch) ([]Match, error) { panic("TODO") }

type detection struct{}

// Subset returns a ruleset holding the rules for which keep returns true, in order.
// The planner uses it to prune rules (by rule_level, rule_id) before evaluation.
func (rs *Ruleset) Subset(keep func(*Rule) bool) *Ruleset { panic("TODO") }
