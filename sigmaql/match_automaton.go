package sigmaql

// automaton is an Aho-Corasick multi-literal matcher over bytes, written for the column
// pass: it reports every (overlapping) occurrence of every literal with its end position,
// without allocating. It replaces github.com/petar-dambovaliev/aho-corasick, whose
// overlapping iterator allocates per value and per match and whose NFA form (needed above
// a few thousand literals to bound memory) cost ~750 ns per byte on CommandLine with the
// whole SigmaHQ windows ruleset (see DESIGN.md).
//
// Layout: bytes map to classes (each byte occurring in some literal has its own class,
// every other byte shares class 0). States are numbered in breadth-first order, so the
// shallow states, where a scan spends almost all its time, come first: states below
// ndense have a complete DFA row in dense (next state for every class, failure
// transitions resolved at build time). Deeper states keep only their trie edges and a
// failure link; a step from one of them follows failure links until an edge or a dense
// state answers. The dense table is bounded by automatonDenseBudget entries, so memory
// grows with the literals, not with literals × alphabet.
type automaton struct {
	class  [256]uint8
	nclass int32
	ndense int32
	// dense holds ndense × nclass entries, each the next state encoded for the scan
	// loop (see encode): a dense target is its row offset (id × nclass), so a step is
	// one load with no multiply, with autOutFlag set when some literal ends there; a
	// sparse target is its negated id.
	dense []int32
	// foldASCII is set when ASCII upper-case bytes share the class of their lower case
	// (requested, and no literal has an ASCII upper-case byte): scanning a raw ASCII text
	// then finds exactly the occurrences scanning its lower-case form finds.
	foldASCII bool
	built     bool // dense holds encoded entries (plain state ids while building)
	// Sparse states' trie edges: edgeCls/edgeTo[edgeOff[s]:edgeOff[s+1]], sorted by class.
	edgeOff []int32
	edgeCls []uint8
	edgeTo  []int32
	fail    []int32
	// outOff/outPat hold each state's own literals; dict is the nearest state on the
	// failure chain with literals of its own (-1 for none); hasOut marks states where
	// some literal ends (own or through dict).
	outOff []int32
	outPat []int32
	dict   []int32
	hasOut []bool
	patLen []int32
	maxLen int32 // longest literal
}

// automatonDenseBudget bounds the dense table of one automaton, in entries (4 bytes
// each): 1M entries = 4 MiB, enough for every state of depth ≤ 2-3 of the largest
// SigmaHQ column (CommandLine, ~11k literals over ~90 byte classes).
const automatonDenseBudget = 1 << 20

// autOutFlag marks an encoded dense entry whose target state has output.
const autOutFlag = 1 << 30

// newAutomaton builds the automaton of non-empty literals; pattern ids are indices into
// lits.
func newAutomaton(lits []string) *automaton {
	return newAutomatonOpts(lits, automatonDenseBudget, false)
}

// newAutomatonBudget builds the automaton with at most budget dense-table entries (at
// least the root's row).
func newAutomatonBudget(lits []string, budget int) *automaton {
	return newAutomatonOpts(lits, budget, false)
}

// newAutomatonOpts builds the automaton with at most budget dense-table entries; with
// foldASCII, ASCII letters are matched case-insensitively when no literal has an ASCII
// upper-case byte (a.foldASCII reports whether it was granted).
func newAutomatonOpts(lits []string, budget int, foldASCII bool) *automaton {
	a := &automaton{}
	// Byte classes.
	var used [256]bool
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			used[l[i]] = true
		}
	}
	if foldASCII {
		for b := 'A'; b <= 'Z'; b++ {
			if used[b] {
				foldASCII = false
			}
		}
	}
	// Class 0 is for bytes in no literal; when every byte occurs, none needs it.
	a.nclass = 1
	for b := range used {
		if !used[b] {
			break
		}
		if b == 255 {
			a.nclass = 0
		}
	}
	for b := range used {
		if used[b] {
			a.class[b] = uint8(a.nclass)
			a.nclass++
		}
	}
	if foldASCII {
		a.foldASCII = true
		for b := 'A'; b <= 'Z'; b++ {
			a.class[b] = a.class[b+'a'-'A']
		}
	}
	// Trie in insertion order: per state, its edges as (class, child) pairs.
	type edge struct {
		c  uint8
		to int32
	}
	kids := [][]edge{nil}
	own := [][]int32{nil}
	depth := []int32{0}
	for pi, l := range lits {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := a.class[l[i]]
			next := int32(-1)
			for _, e := range kids[s] {
				if e.c == c {
					next = e.to
					break
				}
			}
			if next < 0 {
				next = int32(len(kids))
				kids = append(kids, nil)
				own = append(own, nil)
				depth = append(depth, depth[s]+1)
				kids[s] = append(kids[s], edge{c, next})
			}
			s = next
		}
		own[s] = append(own[s], int32(pi))
	}
	n := len(kids)
	// Breadth-first renumbering.
	order := make([]int32, 0, n) // new id -> old id
	newID := make([]int32, n)
	order = append(order, 0)
	for i := 0; i < len(order); i++ {
		s := order[i]
		ks := kids[s]
		// Sort edges by class for the sparse lookup (insertion sort: few edges).
		for x := 1; x < len(ks); x++ {
			for y := x; y > 0 && ks[y].c < ks[y-1].c; y-- {
				ks[y], ks[y-1] = ks[y-1], ks[y]
			}
		}
		for _, e := range ks {
			newID[e.to] = int32(len(order))
			order = append(order, e.to)
		}
	}
	a.ndense = int32(min(n, max(1, budget/int(a.nclass))))
	a.dense = make([]int32, int(a.ndense)*int(a.nclass))
	a.edgeOff = make([]int32, n+1)
	a.fail = make([]int32, n)
	a.outOff = make([]int32, n+1)
	a.dict = make([]int32, n)
	a.hasOut = make([]bool, n)
	for ni, s := range order {
		a.edgeOff[ni+1] = a.edgeOff[ni]
		if int32(ni) >= a.ndense {
			for _, e := range kids[s] {
				a.edgeCls = append(a.edgeCls, e.c)
				a.edgeTo = append(a.edgeTo, newID[e.to])
			}
			a.edgeOff[ni+1] = int32(len(a.edgeCls))
		}
		a.outPat = append(a.outPat, own[s]...)
		a.outOff[ni+1] = int32(len(a.outPat))
	}
	a.patLen = make([]int32, len(lits))
	for i, l := range lits {
		a.patLen[i] = int32(len(l))
		a.maxLen = max(a.maxLen, int32(len(l)))
	}
	// Failure links, dense rows and dictionary links in breadth-first order: a state's
	// failure target is shallower, so it is complete when the state is reached.
	a.dict[0] = -1
	for ni, s := range order {
		id := int32(ni)
		if id < a.ndense {
			row := a.dense[int(id)*int(a.nclass) : int(id+1)*int(a.nclass)]
			if id != 0 {
				copy(row, a.dense[int(a.fail[id])*int(a.nclass):int(a.fail[id]+1)*int(a.nclass)])
			}
			for _, e := range kids[s] {
				row[e.c] = newID[e.to]
			}
		}
		for _, e := range kids[s] {
			t := newID[e.to]
			if id == 0 {
				a.fail[t] = 0
			} else {
				a.fail[t] = a.step(a.fail[id], e.c)
			}
			f := a.fail[t]
			if a.outOff[f+1] > a.outOff[f] {
				a.dict[t] = f
			} else {
				a.dict[t] = a.dict[f]
			}
			a.hasOut[t] = a.outOff[t+1] > a.outOff[t] || a.dict[t] >= 0
		}
	}
	for i, t := range a.dense {
		a.dense[i] = a.encode(t)
	}
	a.built = true
	return a
}

// encode is the dense-table form of state t.
func (a *automaton) encode(t int32) int32 {
	if t >= a.ndense {
		return -t
	}
	e := t * a.nclass
	if a.hasOut[t] {
		e |= autOutFlag
	}
	return e
}

// decode is the state of an encoded entry.
func (a *automaton) decode(e int32) int32 {
	if e < 0 {
		return -e
	}
	return (e &^ autOutFlag) / a.nclass
}

// step returns the state after reading a byte of class c in state s.
func (a *automaton) step(s int32, c uint8) int32 {
	for {
		if s < a.ndense {
			e := a.dense[int(s)*int(a.nclass)+int(c)]
			if a.built {
				return a.decode(e)
			}
			return e
		}
		lo, hi := a.edgeOff[s], a.edgeOff[s+1]
		for i := lo; i < hi; i++ {
			if a.edgeCls[i] == c {
				return a.edgeTo[i]
			}
		}
		s = a.fail[s]
	}
}

// scanSplitMin is the shortest text scan cuts in two halves walked in lockstep: two
// independent DFA walks let the CPU overlap their table loads (a single walk waits for
// each load before the next), ~1.5x faster on long values such as rendered messages
// and script blocks. Below it the second walk's setup and overlap do not pay.
const scanSplitMin = 64

// scan calls fn for every occurrence of every literal in text, with the literal's id
// and the occurrence's end offset (exclusive). Each occurrence is reported once; the
// order is by end offset within each half of a split text, not overall.
func (a *automaton) scan(text string, fn func(pat int32, end int)) {
	if len(text) < scanSplitMin || len(text) < 4*int(a.maxLen) {
		a.scanFrom(text, 0, 0, 0, fn)
		return
	}
	// Lockstep: walk A reads [0, mid) and reports occurrences ending at or before mid;
	// walk B starts from the root maxLen-1 bytes before mid, so it sees every
	// occurrence ending after mid whole, and reports only those.
	mid := len(text) / 2
	bs := mid - int(a.maxLen) + 1
	dense, class := a.dense, &a.class
	ea, eb := int32(0), int32(0)
	for k := 0; k < mid; k++ {
		ca, cb := int32(class[text[k]]), int32(class[text[bs+k]])
		if ea|eb >= 0 {
			na, nb := dense[ea+ca], dense[eb+cb]
			// Fast path: both walks in dense states without output.
			if uint32(na)|uint32(nb) < autOutFlag {
				ea, eb = na, nb
				continue
			}
		}
		ea = a.stepReport(text, ea, ca, k, 0, fn)
		eb = a.stepReport(text, eb, cb, bs+k, mid, fn)
	}
	a.scanFrom(text, eb, bs+mid, mid, fn)
}

// scanFrom walks text from offset i in encoded state e to the end, reporting the
// occurrences that end after minEnd.
func (a *automaton) scanFrom(text string, e int32, i, minEnd int, fn func(pat int32, end int)) {
	dense, class := a.dense, &a.class
	for ; i < len(text); i++ {
		c := int32(class[text[i]])
		if e >= 0 {
			// Fast path: a dense state without output; one load per byte.
			if n := dense[e+c]; uint32(n) < autOutFlag {
				e = n
				continue
			}
		}
		e = a.stepReport(text, e, c, i, minEnd, fn)
	}
}

// stepReport advances encoded state e by the byte of class c at offset i, reports the
// occurrences ending there when they end after minEnd, and returns the new encoded state
// (output flag cleared).
func (a *automaton) stepReport(text string, e, c int32, i, minEnd int, fn func(pat int32, end int)) int32 {
	var s int32
	if e >= 0 {
		e = a.dense[e+c]
		s = a.decode(e)
	} else {
		// Slow path: a sparse state follows its trie edges and failure links.
		s = a.step(-e, uint8(c))
		e = a.encode(s)
	}
	if e > 0 {
		e &^= autOutFlag
	}
	if a.hasOut[s] && i+1 > minEnd {
		for o := s; o >= 0; o = a.dict[o] {
			for _, p := range a.outPat[a.outOff[o]:a.outOff[o+1]] {
				fn(p, i+1)
			}
		}
	}
	return e
}

// start returns the start offset of an occurrence of literal pat ending at end.
func (a *automaton) start(pat int32, end int) int { return end - int(a.patLen[pat]) }

// memBytes is the automaton's approximate heap size.
func (a *automaton) memBytes() int {
	return 4*(len(a.dense)+len(a.edgeOff)+len(a.edgeTo)+len(a.fail)+len(a.outOff)+len(a.outPat)+len(a.dict)+len(a.patLen)) + len(a.edgeCls) + len(a.hasOut)
}
