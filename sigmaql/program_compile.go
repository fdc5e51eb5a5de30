package sigmaql

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Program is a ruleset compiled against one Arrow schema. It is immutable after Compile
// and safe for concurrent Eval calls on different batches.
type Program struct {
	rules  []*Rule
	schema *arrow.Schema
	groups []*colGroup // one per referenced column
	leaves []*leaf     // distinct predicates, each evaluated at most once per batch
	exprs  []*node     // one bitmap expression per rule: its condition
	// lsOf is each rule's logsource expression, an index into ls; the rule's condition
	// is only evaluated on the rows its logsource selects.
	lsOf []int
	ls   []*node
	// fieldCol and stringCols resolve fields the way ReferenceEval does (fallback leaves).
	fieldCol   map[string]int
	stringCols []int
	stats      []ruleStats
	// kwPreds are the distinct keyword predicates; kwMatcher decides them all on one
	// value. Keyword leaves are decided only on rows some rule cares about, not in the
	// column pass: a keyword searches every string column.
	kwPreds   []*pred
	kwMatcher *groupMatcher
	// kwEverywhere is set when some rule with a keyword leaf has a logsource that selects
	// every row (no logsource condition: e.g. product windows alone, or an unmapped
	// category). Its keywords are then searched on every row of every string column
	// anyway, so each string column's pass decides the keyword preds with its own leaves:
	// one fold and one automaton scan per distinct value instead of two.
	kwEverywhere bool
	// ruleGroups lists, per rule, the groups with a column pass (a matcher) its
	// condition reads: the passes a parallel Eval runs ahead for the rule.
	ruleGroups [][]int32
	// statePool recycles evaluation states across batches (program_arena.go).
	statePool sync.Pool
}

// parallelMinRows is the fewest rows one goroutine of a parallel Eval takes: below it,
// the per-range state (distinct values, bitmaps) costs more than the second core saves.
const parallelMinRows = 4096

// colKind is how the Program reads a column.
type colKind uint8

const (
	colString colKind = iota // Utf8, LargeUtf8, Utf8View, Dictionary(int, utf8)
	colInt                   // Int8..Int64
	colUint                  // Uint8..Uint64
	colFloat                 // Float32, Float64
	colBool                  // Boolean
	colOther                 // anything else, through its Arrow string form
)

// colGroup is the set of leaves on one column. At evaluation the group reads the column
// once per batch: string forms are deduplicated into distinct values, each case-folded
// once, and every string leaf runs over distinct values, not rows. It is the place where
// a multi-pattern automaton over the group's glob leaves will slot in.
type colGroup struct {
	col    int
	name   string
	kind   colKind
	f32    bool
	leaves []int
	// matcher decides the group's string leaves (strLeaves, in matcher item order) in
	// one pass per distinct value; nil when the group has none.
	matcher   *groupMatcher
	strLeaves []int32
	// hitLeaf maps a matcher item to its leaf: strLeaves, then (kwInPass) the column's
	// keyword leaves in Program.kwPreds order (-1 for a keyword pred without one).
	hitLeaf  []int32
	kwInPass bool
	// intEq maps an integer to the group's integer-equality leaves for it (Int8..Int64
	// columns only; nil without such leaves): decided together in one pass over the rows
	// (intEqPass) instead of one pass per leaf.
	intEq map[int64][]int32
	// kwLeaf maps an index into Program.kwPreds to this column's leaf, -1 for none.
	kwLeaf []int32
}

// leaf is one distinct predicate on one column.
type leaf struct {
	group int // index into Program.groups; -1 for fallback leaves
	col   int // column index; -1 when the field is absent from the schema
	pred  *pred
	// fallback leaves are decided row by row through the reference leaf matcher
	// (program_fallback.go): pred kinds without a columnar kernel.
	fallback bool
	// str decides the pred from a value's string form (raw, and folded when fold is set);
	// nil when the pred is decided from the typed value or validity alone.
	str  func(s string) bool
	fold bool
	// kw marks a keyword leaf: kwIdx indexes Program.kwPreds.
	kw    bool
	kwIdx int
}

// nodeOp is the operation of one node of a compiled rule expression.
type nodeOp uint8

const (
	opConst nodeOp = iota
	opLeaf
	opAnd
	opOr
	opNot
)

// node is a compiled bitmap expression. And/Or hold at least two kids; constants only
// survive at the root.
type node struct {
	op   nodeOp
	val  bool // opConst
	leaf int  // opLeaf
	kids []*node
}

var (
	nodeTrue  = &node{op: opConst, val: true}
	nodeFalse = &node{op: opConst, val: false}
)

func isConst(n *node, v bool) bool { return n.op == opConst && n.val == v }

func mkAnd(kids []*node) *node {
	var out []*node
	for _, k := range kids {
		switch {
		case isConst(k, false):
			return nodeFalse
		case isConst(k, true):
			continue
		case k.op == opAnd:
			out = append(out, k.kids...)
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return nodeTrue
	case 1:
		return out[0]
	}
	return &node{op: opAnd, kids: out}
}

func mkOr(kids []*node) *node {
	var out []*node
	for _, k := range kids {
		switch {
		case isConst(k, true):
			return nodeTrue
		case isConst(k, false):
			continue
		case k.op == opOr:
			out = append(out, k.kids...)
		default:
			out = append(out, k)
		}
	}
	switch len(out) {
	case 0:
		return nodeFalse
	case 1:
		return out[0]
	}
	return &node{op: opOr, kids: out}
}

func mkNot(k *node) *node {
	switch {
	case k.op == opConst:
		if k.val {
			return nodeFalse
		}
		return nodeTrue
	case k.op == opNot:
		return k.kids[0]
	}
	return &node{op: opNot, kids: []*node{k}}
}

// Compile returns the ruleset's Program for schema; programs are cached per schema.
func (rs *Ruleset) Compile(schema *arrow.Schema) (*Program, error) {
	if schema == nil {
		return nil, ErrSchema
	}
	key := schema.Fingerprint()
	rs.mu.Lock()
	p := rs.programs[key]
	rs.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := compileProgram(rs.Rules, schema)
	if err != nil {
		return nil, err
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if old := rs.programs[key]; old != nil {
		return old, nil
	}
	if rs.programs == nil {
		rs.programs = map[string]*Program{}
	}
	rs.programs[key] = p
	return p, nil
}

// compiler holds the state of one compilation.
type compiler struct {
	p          *Program
	fieldCol   map[string]int // rule field name -> column
	groupOf    map[int]int    // column -> group
	leafOf     map[string]int // column + pred key -> leaf
	stringCols []int          // columns keyword searches look at
	lsOf       map[string]int // logsource key -> index into Program.ls
	kwIdx      map[string]int // keyword pred key -> index into Program.kwPreds
	// allFallback sends every leaf through the fallback (tests of the fallback itself).
	allFallback bool
}

// native reports whether p gets a columnar kernel in this compilation.
func (c *compiler) native(p *pred) bool { return nativePred(p) && !c.allFallback }

func compileProgram(rules []*Rule, schema *arrow.Schema) (*Program, error) {
	return compileWith(rules, schema, false)
}

func compileWith(rules []*Rule, schema *arrow.Schema, allFallback bool) (*Program, error) {
	p := &Program{rules: rules, schema: schema, stats: make([]ruleStats, len(rules))}
	c := &compiler{p: p, fieldCol: map[string]int{}, groupOf: map[int]int{}, leafOf: map[string]int{}, lsOf: map[string]int{}, kwIdx: map[string]int{}, allFallback: allFallback}
	for i, f := range schema.Fields() {
		if f.Type.ID() == arrow.NULL {
			continue // A column of type null holds no value: the field is absent.
		}
		stripped := strings.ReplaceAll(f.Name, " ", "")
		if _, ok := c.fieldCol[stripped]; !ok {
			c.fieldCol[stripped] = i
		}
		if k, _ := columnKind(f.Type); k == colString {
			c.stringCols = append(c.stringCols, i)
		}
	}
	for i, f := range schema.Fields() {
		if f.Type.ID() != arrow.NULL {
			c.fieldCol[f.Name] = i
		}
	}
	p.fieldCol, p.stringCols = c.fieldCol, c.stringCols
	for _, r := range rules {
		if r.det == nil {
			return nil, fmt.Errorf("compile rule %q (%s:%d): rule has no detection", r.ID, r.File, r.Line)
		}
		ls, cond := c.rule(r)
		p.lsOf = append(p.lsOf, ls)
		p.exprs = append(p.exprs, cond)
	}
	p.kwEverywhere = kwEverywhere(p)
	for _, g := range p.groups {
		var items []matchItem
		for _, id := range g.leaves {
			if l := p.leaves[id]; l.str != nil && !l.kw {
				items = append(items, matchItem{pred: l.pred, str: l.str})
				g.strLeaves = append(g.strLeaves, int32(id))
			}
		}
		g.kwLeaf = make([]int32, len(c.kwIdx))
		for i := range g.kwLeaf {
			g.kwLeaf[i] = -1
		}
		for _, id := range g.leaves {
			if l := p.leaves[id]; l.kw {
				g.kwLeaf[l.kwIdx] = int32(id)
				g.kwInPass = p.kwEverywhere
			}
		}
		if g.kind == colInt {
			for _, id := range g.leaves {
				if l := p.leaves[id]; l.pred.kind == predNum && l.pred.isInt {
					if g.intEq == nil {
						g.intEq = map[int64][]int32{}
					}
					g.intEq[l.pred.i] = append(g.intEq[l.pred.i], int32(id))
				}
			}
		}
		g.hitLeaf = append(g.hitLeaf, g.strLeaves...)
		if g.kwInPass {
			for i, pr := range p.kwPreds {
				str, _ := stringKernel(pr)
				items = append(items, matchItem{pred: pr, str: str})
				g.hitLeaf = append(g.hitLeaf, g.kwLeaf[i])
			}
		}
		if len(items) > 0 {
			g.matcher = cachedMatcher(items)
		}
	}
	p.ruleGroups = make([][]int32, len(p.exprs))
	for ri, e := range p.exprs {
		p.ruleGroups[ri] = passGroups(p, e, nil)
	}
	if len(p.kwPreds) > 0 {
		items := make([]matchItem, len(p.kwPreds))
		for i, pr := range p.kwPreds {
			str, _ := stringKernel(pr)
			items[i] = matchItem{pred: pr, str: str}
		}
		p.kwMatcher = cachedMatcher(items)
	}
	return p, nil
}

// kwEverywhere reports whether some rule whose condition has a keyword leaf has a
// logsource that is constant true, i.e. whose keywords are searched on every row.
func kwEverywhere(p *Program) bool {
	var hasKw func(n *node) bool
	hasKw = func(n *node) bool {
		if n.op == opLeaf {
			return p.leaves[n.leaf].kw
		}
		for _, k := range n.kids {
			if hasKw(k) {
				return true
			}
		}
		return false
	}
	for ri, e := range p.exprs {
		if isConst(p.ls[p.lsOf[ri]], true) && hasKw(e) {
			return true
		}
	}
	return false
}

// passGroups appends to out the groups with a column pass that n reads, each once.
func passGroups(p *Program, n *node, out []int32) []int32 {
	if n.op == opLeaf {
		l := p.leaves[n.leaf]
		if l.group < 0 || l.str == nil || p.groups[l.group].matcher == nil || (l.kw && !p.groups[l.group].kwInPass) {
			return out
		}
		if !slices.Contains(out, int32(l.group)) {
			out = append(out, int32(l.group))
		}
		return out
	}
	for _, k := range n.kids {
		out = passGroups(p, k, out)
	}
	return out
}

// columnKind classifies an Arrow type; f32 marks Float32 (its string form differs).
func columnKind(t arrow.DataType) (k colKind, f32 bool) {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return colString, false
	case arrow.DICTIONARY:
		switch t.(*arrow.DictionaryType).ValueType.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
			return colString, false
		}
		return colOther, false
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
		return colInt, false
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return colUint, false
	case arrow.FLOAT32:
		return colFloat, true
	case arrow.FLOAT64:
		return colFloat, false
	case arrow.BOOL:
		return colBool, false
	}
	return colOther, false
}

// rule compiles r into its logsource expression (an index into Program.ls, shared by
// every rule with the same logsource items) and its condition.
func (c *compiler) rule(r *Rule) (int, *node) {
	d := r.det
	var kids []*node
	var lsKey strings.Builder
	for _, it := range d.logsource {
		fmt.Fprintf(&lsKey, "%q|%q|%v|", it.field, it.mods, it.all)
		for _, vs := range it.values {
			for _, p := range vs {
				lsKey.WriteString(strconv.Quote(p.key))
			}
			lsKey.WriteByte(',')
		}
		lsKey.WriteByte(';')
	}
	ls, ok := c.lsOf[lsKey.String()]
	if !ok {
		for _, it := range d.logsource {
			kids = append(kids, c.item(it))
		}
		ls = len(c.p.ls)
		c.p.ls = append(c.p.ls, mkAnd(kids))
		c.lsOf[lsKey.String()] = ls
	}
	searches := map[string]*node{}
	search := func(name string) *node {
		if n, ok := searches[name]; ok {
			return n
		}
		n := c.search(d.searches[name])
		searches[name] = n
		return n
	}
	var cond func(condNode) *node
	cond = func(cn condNode) *node {
		switch cn := cn.(type) {
		case *condAnd:
			var ks []*node
			for _, x := range cn.xs {
				ks = append(ks, cond(x))
			}
			return mkAnd(ks)
		case *condOr:
			var ks []*node
			for _, x := range cn.xs {
				ks = append(ks, cond(x))
			}
			return mkOr(ks)
		case *condNot:
			return mkNot(cond(cn.x))
		case *condIdent:
			return search(cn.name)
		case *condOf:
			var ks []*node
			for _, name := range ofTargets(d.names, cn.pattern) {
				ks = append(ks, search(name))
			}
			if cn.all {
				return mkAnd(ks)
			}
			return mkOr(ks)
		}
		panic("BUG: unknown condition node")
	}
	return ls, cond(d.cond)
}

func (c *compiler) search(s *search) *node {
	var alts []*node
	for _, alt := range s.alts {
		var items []*node
		for _, it := range alt {
			items = append(items, c.item(it))
		}
		alts = append(alts, mkAnd(items))
	}
	return mkOr(alts)
}

func (c *compiler) item(it *item) *node {
	var vals []*node
	for _, variants := range it.values {
		var vs []*node
		for _, p := range variants {
			if it.keyword {
				var cols []*node
				for _, col := range c.stringCols {
					cols = append(cols, c.keywordLeaf(col, p))
				}
				vs = append(vs, mkOr(cols))
				continue
			}
			col, ok := c.fieldCol[it.field]
			if !ok && !c.native(p) {
				// The fallback decides the pred on an absent field row by row: it may
				// read other fields of the event.
				vs = append(vs, c.leaf(-1, p))
				continue
			}
			if !ok {
				// The column is absent from the schema: the pred is a constant.
				vs = append(vs, constNode(p.kind == predNull || (p.kind == predExists && !p.b)))
				continue
			}
			vs = append(vs, c.leaf(col, p))
		}
		vals = append(vals, mkOr(vs))
	}
	if it.all {
		return mkAnd(vals)
	}
	return mkOr(vals)
}

func constNode(v bool) *node {
	if v {
		return nodeTrue
	}
	return nodeFalse
}

// leaf returns the node of pred p on column col, sharing the leaf with every other use of
// the same predicate on that column.
func (c *compiler) leaf(col int, p *pred) *node {
	key := fmt.Sprintf("%d\x00%s", col, p.key)
	if id, ok := c.leafOf[key]; ok {
		return &node{op: opLeaf, leaf: id}
	}
	if !c.native(p) {
		id := len(c.p.leaves)
		c.p.leaves = append(c.p.leaves, &leaf{group: -1, col: col, pred: p, fallback: true})
		c.leafOf[key] = id
		return &node{op: opLeaf, leaf: id}
	}
	kind, _ := columnKind(c.p.schema.Field(col).Type)
	if v, ok := staticPred(kind, p); ok {
		return constNode(v)
	}
	g := c.group(col)
	l := &leaf{group: g, col: col, pred: p}
	if needsString(kind, p) {
		l.str, l.fold = stringKernel(p)
	}
	id := len(c.p.leaves)
	c.p.leaves = append(c.p.leaves, l)
	c.p.groups[g].leaves = append(c.p.groups[g].leaves, id)
	c.leafOf[key] = id
	return &node{op: opLeaf, leaf: id}
}

// keywordLeaf returns the node of keyword pred p on string column col.
func (c *compiler) keywordLeaf(col int, p *pred) *node {
	if !c.native(p) || !needsString(colString, p) {
		return c.leaf(col, p)
	}
	key := fmt.Sprintf("kw\x00%d\x00%s", col, p.key)
	if id, ok := c.leafOf[key]; ok {
		return &node{op: opLeaf, leaf: id}
	}
	k, ok := c.kwIdx[p.key]
	if !ok {
		k = len(c.p.kwPreds)
		c.kwIdx[p.key] = k
		c.p.kwPreds = append(c.p.kwPreds, p)
	}
	g := c.group(col)
	str, fold := stringKernel(p)
	id := len(c.p.leaves)
	c.p.leaves = append(c.p.leaves, &leaf{group: g, col: col, pred: p, str: str, fold: fold, kw: true, kwIdx: k})
	c.p.groups[g].leaves = append(c.p.groups[g].leaves, id)
	c.leafOf[key] = id
	return &node{op: opLeaf, leaf: id}
}

// group returns the group of column col, creating it on first use.
func (c *compiler) group(col int) int {
	g, ok := c.groupOf[col]
	if !ok {
		f := c.p.schema.Field(col)
		kind, f32 := columnKind(f.Type)
		g = len(c.p.groups)
		c.groupOf[col] = g
		c.p.groups = append(c.p.groups, &colGroup{col: col, name: f.Name, kind: kind, f32: f32})
	}
	return g
}

// staticPred decides preds that cannot match a column's type, at compile time.
func staticPred(kind colKind, p *pred) (val, ok bool) {
	switch kind {
	case colInt, colUint, colFloat:
		if p.kind == predBool || p.kind == predCIDR {
			return false, true
		}
	case colBool:
		if p.kind == predNum || p.kind == predCmp || p.kind == predCIDR {
			return false, true
		}
	}
	return false, false
}

// needsString reports whether p is decided from the value's string form on a column of
// kind; the others are decided from typed values or validity.
func needsString(kind colKind, p *pred) bool {
	switch p.kind {
	case predNull, predExists:
		return false
	case predNum, predCmp:
		return kind == colString || kind == colOther
	case predBool:
		return kind != colBool
	}
	return true
}

// Rules returns the program's rules; Match.Rule indexes this slice.
func (p *Program) Rules() []*Rule { return p.rules }

// Schema returns the schema the program was compiled for.
func (p *Program) Schema() *arrow.Schema { return p.schema }

// ProgramStats describes the size of a compiled program.
type ProgramStats struct {
	Rules   int // rules in the program
	Leaves  int // distinct predicates after deduplication across rules
	Columns int // columns the program reads
	Never   int // rules that can never match this schema (condition constant false)
}

// Stats returns the program's size figures.
func (p *Program) Stats() ProgramStats {
	s := ProgramStats{Rules: len(p.rules), Leaves: len(p.leaves), Columns: len(p.groups)}
	for i, e := range p.exprs {
		if isConst(e, false) || isConst(p.ls[p.lsOf[i]], false) {
			s.Never++
		}
	}
	return s
}
