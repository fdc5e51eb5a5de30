package planner

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// inlineSigmaFunc is the function that runs one Sigma rule given inline, for ad-hoc
// hunts: WHERE sigma('<rule YAML>') is TRUE for the rows the rule matches (never NULL).
// It works on any relation: the rule sees the columns in scope by name.
const inlineSigmaFunc = "sigma"

// sigmaPred is an inline Sigma rule used as a predicate.
type sigmaPred struct {
	rs    *sigmaql.Ruleset
	yaml  string
	names []string // the scope's column names by ordinal

	mu     sync.Mutex
	schema *arrow.Schema
	prog   *sigmaql.Program
}

func (p *sigmaPred) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (p *sigmaPred) String() string {
	title := ""
	if len(p.rs.Rules) > 0 {
		title = p.rs.Rules[0].Title
	}
	return fmt.Sprintf("sigma(%s)", sqlString(title))
}

func (p *sigmaPred) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	var fields []arrow.Field
	var cols []arrow.Array
	for i, name := range p.names {
		if i < len(b.cols) && b.cols[i] != nil {
			fields = append(fields, arrow.Field{Name: name, Type: b.cols[i].DataType(), Nullable: true})
			cols = append(cols, b.cols[i])
		}
	}
	schema := arrow.NewSchema(fields, nil)
	p.mu.Lock()
	if p.prog == nil || !p.schema.Equal(schema) {
		prog, err := p.rs.Compile(schema)
		if err != nil {
			p.mu.Unlock()
			evalFail("sigma(): compile the rule: %v", err)
		}
		p.prog, p.schema = prog, schema
	}
	prog := p.prog
	p.mu.Unlock()
	rec := array.NewRecordBatch(schema, cols, int64(b.n))
	defer rec.Release()
	matches, err := prog.Eval(context.Background(), rec)
	if err != nil {
		evalFail("sigma(): %v", err)
	}
	hit := make(map[int32]bool, len(matches))
	for _, m := range matches {
		hit[m.Row] = true
	}
	for _, r := range sel {
		if hit[r] == want {
			out = append(out, r)
		}
	}
	return out
}

// bindInlineSigma binds sigma('<yaml>'): the text must hold exactly one valid rule.
func (b *binder) bindInlineSigma(f *ast.FuncCallExpr) (predicate, error) {
	pos := f.OriginTextPosition()
	if b.agg != nil {
		return nil, b.errAt(ErrInvalid, pos, "sigma() applies to events, not to groups: use it in WHERE")
	}
	if len(f.Args) != 1 {
		return nil, b.errAt(ErrInvalid, pos, "sigma() takes one argument: the rule's YAML text")
	}
	arg, err := b.bindScalar(f.Args[0])
	if err != nil {
		return nil, err
	}
	lit, ok := arg.(*literal)
	text, isStr := "", false
	if ok {
		text, isStr = lit.val.(string)
	}
	if !isStr {
		return nil, b.errAt(ErrType, f.Args[0].OriginTextPosition(), "sigma() takes the rule's YAML as a string constant")
	}
	rules, diags := sigmaql.ParseRules("inline.yml", []byte(text))
	for _, d := range diags {
		if !d.Warning {
			return nil, b.errAt(ErrInvalid, f.Args[0].OriginTextPosition(), "sigma(): rule line %d, column %d: %s", d.Line, d.Column, d.Message)
		}
	}
	if len(rules) != 1 {
		return nil, b.errAt(ErrInvalid, f.Args[0].OriginTextPosition(), "sigma() needs exactly one rule, got %d", len(rules))
	}
	names := make([]string, len(b.scope))
	for i, c := range b.scope {
		names[i] = c.name
	}
	return &sigmaPred{rs: &sigmaql.Ruleset{Name: "inline", Rules: rules}, yaml: text, names: names}, nil
}
