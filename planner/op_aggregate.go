package planner

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// aggCall is one aggregate: count(*) (fn "count", arg nil), count/sum/min/max/avg(arg)
// [DISTINCT]. The final phase of a split aggregation also uses "avg_merge" (arg: the
// partial sums, arg2: the partial counts).
type aggCall struct {
	fn       string
	arg      expr
	arg2     expr
	distinct bool
	typ      arrow.DataType
}

func (a aggCall) String() string {
	if a.arg == nil {
		return a.fn + "(*)"
	}
	if a.arg2 != nil {
		return a.fn + "(" + a.arg.String() + ", " + a.arg2.String() + ")"
	}
	if a.distinct {
		return a.fn + "(DISTINCT " + a.arg.String() + ")"
	}
	return a.fn + "(" + a.arg.String() + ")"
}

// aggregateOp is a hash aggregation: it consumes its whole input, grouping live rows by
// the key values (NULL is a group of its own, as in GROUP BY), then emits one row per
// group: keys then aggregates. Without keys it emits exactly one row, also for an empty
// input (count 0, other aggregates NULL).
type aggregateOp struct {
	mem    memory.Allocator
	budget *memBudget
	input  operator
	keys   []expr
	keyOut []arrow.DataType // output types of the keys
	aggs   []aggCall
	done   bool

	// Group table.
	groups  int
	byStr   map[string]int32 // single string key, or the encoded composite key
	byInt   map[int64]int32  // single integer/timestamp key
	nullGrp int32            // group of the NULL single key, -1 if none
	keyVals []*vec           // per key: the value of each group
	states  []aggState
	buf     []byte
	// used is what the group table holds against the budget; released once the
	// groups are emitted (or on close).
	used int64

	owned []arrow.Array
	out   batch
}

// aggState accumulates one aggregate for every group.
type aggState struct {
	call   aggCall
	count  []int64
	isum   []int64 // integer sum's low 64 bits (avg_merge: the count)
	ihi    []int64 // integer sum's high 64 bits: sums are exact to 128 bits
	fsum   []float64
	has    []bool
	best   *vec                  // min/max: value per group
	seen   []map[string]struct{} // count(DISTINCT)
	kind   vkind                 // argument kind
	result vkind
}

func (a *aggregateOp) init() {
	a.byStr = map[string]int32{}
	a.byInt = map[int64]int32{}
	a.nullGrp = -1
	a.keyVals = make([]*vec, len(a.keys))
	for i, k := range a.keys {
		a.keyVals[i] = newVec(kindOf(k.dataType()), 0)
		if a.keyVals[i].kind == vNull {
			a.keyVals[i].nulls = []bool{}
		}
	}
	a.states = make([]aggState, len(a.aggs))
	for i, c := range a.aggs {
		st := aggState{call: c, result: kindOf(c.typ)}
		if c.arg != nil {
			st.kind = kindOf(c.arg.dataType())
		}
		if c.fn == "min" || c.fn == "max" {
			st.best = newVec(st.result, 0)
		}
		a.states[i] = st
	}
	if len(a.keys) == 0 {
		a.newGroup(nil, 0)
	}
}

func (a *aggregateOp) next(ctx context.Context) (*batch, error) {
	a.owned = releaseAll(a.owned)
	if a.done {
		return nil, io.EOF
	}
	a.init()
	for {
		in, err := a.input.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := a.consume(in); err != nil {
			return nil, err
		}
	}
	a.done = true
	cols := make([]arrow.Array, 0, len(a.keys)+len(a.aggs))
	for i, kv := range a.keyVals {
		if kv.kind == vNull {
			kv = newVec(vNull, a.groups)
		}
		cols = append(cols, kv.toArrow(a.mem, a.keyOut[i]))
	}
	for i := range a.states {
		v, err := a.states[i].result_(a.groups)
		if err != nil {
			releaseAll(cols)
			return nil, err
		}
		cols = append(cols, v.toArrow(a.mem, a.aggs[i].typ))
	}
	a.owned = append(a.owned, cols...)
	a.out = batch{cols: cols, n: a.groups}
	// The groups live on as Arrow arrays (released by the consumer's next call);
	// the hash table and states go now, so later operators of the query get the
	// budget back.
	a.releaseGroups()
	if a.groups == 0 {
		return nil, io.EOF
	}
	return &a.out, nil
}

// consume adds the live rows of in to the groups.
func (a *aggregateOp) consume(in *batch) error {
	sel := in.selection()
	n := len(sel)
	keys := make([]*vec, len(a.keys))
	for i, k := range a.keys {
		keys[i] = evalVec(k, in, sel)
	}
	gids := make([]int32, n)
	if len(keys) > 0 {
		before := a.groups
		a.lookup(keys, gids)
		if grown := a.groups - before; grown > 0 {
			var size int64
			for _, kv := range keys {
				size += kv.memSize() / int64(max(n, 1))
			}
			if err := a.account(int64(grown) * (size + 64 + int64(len(a.aggs))*16)); err != nil {
				return err
			}
		}
	}
	for i := range a.states {
		st := &a.states[i]
		var arg, arg2 *vec
		if st.call.arg != nil {
			arg = evalVec(st.call.arg, in, sel)
		}
		if st.call.arg2 != nil {
			arg2 = evalVec(st.call.arg2, in, sel)
		}
		if err := st.add(a, gids, arg, arg2, n); err != nil {
			return err
		}
	}
	return nil
}

// lookup assigns each row its group id, creating groups as needed.
func (a *aggregateOp) lookup(keys []*vec, gids []int32) {
	if len(keys) == 1 {
		k := keys[0]
		switch k.kind {
		case vStr:
			for j := range gids {
				if k.isNull(j) {
					gids[j] = a.nullGroup(keys, j)
					continue
				}
				g, ok := a.byStr[k.s[j]]
				if !ok {
					g = a.newGroup(keys, j)
					a.byStr[strings.Clone(k.s[j])] = g
				}
				gids[j] = g
			}
			return
		case vInt, vTime:
			for j := range gids {
				if k.isNull(j) {
					gids[j] = a.nullGroup(keys, j)
					continue
				}
				g, ok := a.byInt[k.i[j]]
				if !ok {
					g = a.newGroup(keys, j)
					a.byInt[k.i[j]] = g
				}
				gids[j] = g
			}
			return
		}
	}
	for j := range gids {
		a.buf = a.buf[:0]
		for _, k := range keys {
			a.buf = appendKey(a.buf, k, j)
		}
		g, ok := a.byStr[string(a.buf)]
		if !ok {
			g = a.newGroup(keys, j)
			a.byStr[string(a.buf)] = g
		}
		gids[j] = g
	}
}

func (a *aggregateOp) nullGroup(keys []*vec, j int) int32 {
	if a.nullGrp < 0 {
		a.nullGrp = a.newGroup(keys, j)
	}
	return a.nullGrp
}

// newGroup appends row j of keys as a new group and returns its id.
func (a *aggregateOp) newGroup(keys []*vec, j int) int32 {
	g := int32(a.groups)
	a.groups++
	for i, k := range keys {
		appendRow(a.keyVals[i], k, j, true)
	}
	for i := range a.states {
		a.states[i].grow()
	}
	return g
}

// appendKey encodes row j of v into a hash key (kind tag, then the value).
func appendKey(buf []byte, v *vec, j int) []byte {
	if v.kind == vNull || v.isNull(j) {
		return append(buf, 0)
	}
	switch v.kind {
	case vBool:
		if v.b[j] {
			return append(buf, 1, 1)
		}
		return append(buf, 1, 0)
	case vInt, vTime:
		buf = append(buf, 2)
		return binary.LittleEndian.AppendUint64(buf, uint64(v.i[j]))
	case vFloat:
		f := v.f[j]
		if f == 0 {
			f = 0 // -0 and 0 are one group
		}
		buf = append(buf, 3)
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f))
	}
	buf = append(buf, 4)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(v.s[j])))
	return append(buf, v.s[j]...)
}

// appendRow appends row j of src to dst (same kind); own clones strings.
func appendRow(dst, src *vec, j int, own bool) {
	null := src.kind == vNull || src.isNull(j)
	if null || dst.nulls != nil {
		if dst.nulls == nil {
			dst.nulls = make([]bool, dst.n)
		}
		dst.nulls = append(dst.nulls, null)
	}
	dst.n++
	switch dst.kind {
	case vBool:
		dst.b = append(dst.b, !null && src.b[j])
	case vInt, vTime:
		var v int64
		if !null {
			v = intOf(src, j)
		}
		dst.i = append(dst.i, v)
	case vFloat:
		var v float64
		if !null {
			v = src.float(j)
		}
		dst.f = append(dst.f, v)
	case vStr:
		var v string
		if !null {
			v = src.s[j]
			if own {
				v = strings.Clone(v)
			}
		}
		dst.s = append(dst.s, v)
	}
}

// grow adds the state of one new group.
func (st *aggState) grow() {
	st.count = append(st.count, 0)
	st.has = append(st.has, false)
	switch st.call.fn {
	case "sum", "avg", "avg_merge":
		st.isum = append(st.isum, 0)
		st.ihi = append(st.ihi, 0)
		st.fsum = append(st.fsum, 0)
	case "min", "max":
		appendRow(st.best, &vec{kind: vNull, n: 1}, 0, false)
	}
	if st.call.distinct {
		st.seen = append(st.seen, nil)
	}
}

// add accumulates the rows (group gids[j], argument row j).
func (st *aggState) add(a *aggregateOp, gids []int32, arg, arg2 *vec, n int) error {
	c := st.call
	if arg == nil { // count(*)
		for _, g := range gids {
			st.count[g]++
		}
		return nil
	}
	if arg.kind == vNull {
		return nil
	}
	for j := 0; j < n; j++ {
		if arg.isNull(j) {
			continue
		}
		g := gids[j]
		if c.distinct {
			if st.seen[g] == nil {
				st.seen[g] = map[string]struct{}{}
			}
			a.buf = appendKey(a.buf[:0], arg, j)
			if _, dup := st.seen[g][string(a.buf)]; dup {
				continue
			}
			st.seen[g][string(a.buf)] = struct{}{}
			if err := a.account(int64(len(a.buf)) + 48); err != nil {
				return err
			}
		}
		st.count[g]++
		st.has[g] = true
		switch c.fn {
		case "sum", "avg":
			if arg.kind == vInt {
				// 128-bit accumulation: an intermediate sum may pass the int64
				// range as long as the total fits (checked in result_).
				x := arg.i[j]
				lo, carry := bits.Add64(uint64(st.isum[g]), uint64(x), 0)
				st.isum[g] = int64(lo)
				st.ihi[g] += x>>63 + int64(carry)
			}
			st.fsum[g] += arg.float(j)
		case "avg_merge":
			st.fsum[g] += arg.float(j)
			if arg2 != nil && !arg2.isNull(j) {
				st.isum[g] += arg2.i[j]
			}
		case "min", "max":
			if !st.best.isNull(int(g)) {
				cmp := compareRow(arg, j, st.best, int(g))
				if (c.fn == "min" && cmp >= 0) || (c.fn == "max" && cmp <= 0) {
					continue
				}
			}
			setRow(st.best, int(g), arg, j)
		}
	}
	return nil
}

// setRow sets dst[g] = src[j] (same class), cloning strings.
func setRow(dst *vec, g int, src *vec, j int) {
	if dst.nulls != nil {
		dst.nulls[g] = false
	}
	switch dst.kind {
	case vBool:
		dst.b[g] = src.b[j]
	case vInt, vTime:
		dst.i[g] = intOf(src, j)
	case vFloat:
		dst.f[g] = src.float(j)
	case vStr:
		dst.s[g] = strings.Clone(src.s[j])
	}
}

// result_ returns the aggregate's values for the groups.
func (st *aggState) result_(groups int) (*vec, error) {
	out := newVec(st.result, groups)
	for g := 0; g < groups; g++ {
		switch st.call.fn {
		case "count":
			out.i[g] = st.count[g]
			continue
		case "min", "max":
			copyRow(out, g, st.best, g)
			continue
		}
		if !st.has[g] {
			out.setNull(g)
			continue
		}
		switch st.call.fn {
		case "sum":
			if st.result == vInt {
				if st.ihi[g] != st.isum[g]>>63 {
					return nil, fmt.Errorf("%w: integer overflow in sum(%s): the sum does not fit BIGINT (±9223372036854775807); sum a CAST to DOUBLE", ErrOverflow, st.call.arg)
				}
				out.i[g] = st.isum[g]
			} else {
				out.f[g] = st.fsum[g]
			}
		case "avg":
			out.f[g] = st.fsum[g] / float64(st.count[g])
		case "avg_merge":
			if st.isum[g] == 0 {
				out.setNull(g)
			} else {
				out.f[g] = st.fsum[g] / float64(st.isum[g])
			}
		}
	}
	return out, nil
}

// account grows the query's budget by n bytes held by the group table.
func (a *aggregateOp) account(n int64) error {
	a.used += n
	return a.budget.grow(n)
}

// releaseGroups drops the group table and returns its bytes to the budget.
func (a *aggregateOp) releaseGroups() {
	a.byStr, a.byInt, a.keyVals, a.buf = nil, nil, nil, nil
	for i := range a.states {
		a.states[i] = aggState{call: a.states[i].call}
	}
	a.budget.shrink(a.used)
	a.used = 0
}

func (a *aggregateOp) close() {
	a.releaseGroups()
	a.owned = releaseAll(a.owned)
	a.input.close()
}
