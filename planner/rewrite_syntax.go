package planner

import (
	"strings"
)

// Standard SQL the TiDB (MySQL) grammar rejects is rewritten before parsing, in the same
// length-preserving way as table functions, so error offsets stay valid:
//
//   - ORDER BY ... NULLS FIRST | NULLS LAST: the two words are blanked and recorded
//     (rewriteResult.nulls); the binder gives each marker to the ORDER BY item it
//     follows.
//   - CAST(x AS <type>) for every SQL type name (INTEGER, BIGINT, TEXT, VARCHAR(n),
//     TIMESTAMP, BOOLEAN...; MySQL only takes SIGNED, CHAR, DATETIME...): "CAST" becomes
//     the generic function name castFuncName and "AS <type>" is blanked; the type is
//     recorded by the call's offset (rewriteResult.casts) and bound from there.

// castFuncName replaces CAST/TRY_CAST: same length as "CAST", never a real function.
const castFuncName = "_CST"

// nullsMarker is one NULLS FIRST/LAST found in the text.
type nullsMarker struct {
	pos   int
	first bool
}

// castSpec is the target type of one rewritten CAST.
type castSpec struct {
	typ string // upper-case type name without arguments, e.g. "VARCHAR"
	try bool   // TRY_CAST: NULL instead of an error
}

// rewriteSyntax applies the rewrites above to buf (the text after table-function
// rewriting) and records what it removed in res.
func rewriteSyntax(res *rewriteResult, buf []byte) {
	toks := res.toks
	res.casts = map[int]castSpec{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.is("NULLS") && i+1 < len(toks) && (toks[i+1].is("FIRST") || toks[i+1].is("LAST")) {
			res.nulls = append(res.nulls, nullsMarker{pos: t.pos, first: toks[i+1].is("FIRST")})
			blank(buf, t.pos, toks[i+1].end)
			i++
			continue
		}
		if (t.is("CAST") || t.is("TRY_CAST")) && t.kind == tokIdent && i+1 < len(toks) && toks[i+1].isPunct("(") {
			closeIdx, asIdx := -1, -1
			depth := 0
			for j := i + 1; j < len(toks); j++ {
				switch {
				case toks[j].isPunct("("):
					depth++
				case toks[j].isPunct(")"):
					depth--
				case depth == 1 && toks[j].is("AS"):
					asIdx = j
				}
				if depth == 0 {
					closeIdx = j
					break
				}
			}
			if closeIdx < 0 || asIdx < 0 || asIdx+1 >= closeIdx {
				continue
			}
			typ := strings.ToUpper(toks[asIdx+1].value)
			if asIdx+2 < closeIdx && toks[asIdx+2].is("PRECISION") { // DOUBLE PRECISION
				typ = "DOUBLE"
			}
			res.casts[t.pos] = castSpec{typ: typ, try: t.is("TRY_CAST")}
			name := castFuncName
			if t.is("TRY_CAST") {
				name = "_TRY_CST"
			}
			copy(buf[t.pos:], name)
			blank(buf, t.pos+len(name), t.end)
			blank(buf, toks[asIdx].pos, toks[closeIdx].pos)
		}
	}
}

// blank overwrites buf[from:to] with spaces.
func blank(buf []byte, from, to int) {
	for k := from; k < to; k++ {
		buf[k] = ' '
	}
}
