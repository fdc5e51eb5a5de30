package storage

import (
	"testing"
	"time"
)

func TestPredicateMayMatch(t *testing.T) {
	ints := &ColumnStats{Nulls: 1, HasMinMax: true, Kind: "i", MinI: 10, MaxI: 20}
	strs := &ColumnStats{Nulls: 0, HasMinMax: true, Kind: "s", MinS: "cmd.exe", MaxS: "powershell.exe"}
	flts := &ColumnStats{Nulls: 0, HasMinMax: true, Kind: "f", MinF: 0.5, MaxF: 1.5}
	noBounds := &ColumnStats{Nulls: 0}
	allNull := &ColumnStats{Nulls: 10}
	f := func(cs *ColumnStats, p Predicate, want bool) {
		t.Helper()
		if got := p.mayMatch(cs, 10); got != want {
			t.Fatalf("%v on %+v: got %v; want %v", p, cs, got, want)
		}
	}
	f(ints, Predicate{Op: OpEq, Value: int64(15)}, true)
	f(ints, Predicate{Op: OpEq, Value: int64(10)}, true)
	f(ints, Predicate{Op: OpEq, Value: int64(20)}, true)
	f(ints, Predicate{Op: OpEq, Value: int64(9)}, false)
	f(ints, Predicate{Op: OpEq, Value: int64(21)}, false)
	f(ints, Predicate{Op: OpEq, Value: 15}, true) // int literal
	f(ints, Predicate{Op: OpLt, Value: int64(10)}, false)
	f(ints, Predicate{Op: OpLt, Value: int64(11)}, true)
	f(ints, Predicate{Op: OpLe, Value: int64(10)}, true)
	f(ints, Predicate{Op: OpLe, Value: int64(9)}, false)
	f(ints, Predicate{Op: OpGt, Value: int64(20)}, false)
	f(ints, Predicate{Op: OpGt, Value: int64(19)}, true)
	f(ints, Predicate{Op: OpGe, Value: int64(20)}, true)
	f(ints, Predicate{Op: OpGe, Value: int64(21)}, false)
	f(ints, Predicate{Op: OpIn, Values: []any{int64(1), int64(30)}}, false)
	f(ints, Predicate{Op: OpIn, Values: []any{int64(1), int64(12)}}, true)
	f(ints, Predicate{Op: OpIn, Values: nil}, false)
	f(ints, Predicate{Op: OpIsNull}, true)
	f(ints, Predicate{Op: OpIsNotNull}, true)
	f(ints, Predicate{Op: OpEq, Value: 15.5}, true)  // float literal on ints compares as floats
	f(ints, Predicate{Op: OpEq, Value: 25.5}, false) // ... and prunes
	f(ints, Predicate{Op: OpEq, Value: "15"}, true)  // wrong kind: never prunes
	f(ints, Predicate{Op: OpEq, Value: struct{}{}}, true)
	f(strs, Predicate{Op: OpEq, Value: "net.exe"}, true)
	f(strs, Predicate{Op: OpEq, Value: "wmic.exe"}, false)
	f(strs, Predicate{Op: OpEq, Value: "a.exe"}, false)
	f(strs, Predicate{Op: OpIsNull}, false)
	f(strs, Predicate{Op: OpGe, Value: "powershell.exe"}, true)
	f(strs, Predicate{Op: OpGt, Value: "powershell.exe"}, false)
	f(flts, Predicate{Op: OpLt, Value: 0.5}, false)
	f(flts, Predicate{Op: OpLt, Value: int64(1)}, true)
	f(noBounds, Predicate{Op: OpEq, Value: "anything"}, true)
	f(allNull, Predicate{Op: OpEq, Value: int64(1)}, false)
	f(allNull, Predicate{Op: OpIsNotNull}, false)
	f(allNull, Predicate{Op: OpIsNull}, true)
	f(nil, Predicate{Op: OpEq, Value: int64(1)}, false) // column absent: all nulls
	f(nil, Predicate{Op: OpIsNull}, true)
	ts := &ColumnStats{HasMinMax: true, Kind: "i", MinI: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro(), MaxI: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC).UnixMicro()}
	f(ts, Predicate{Op: OpGe, Value: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)}, false)
	f(ts, Predicate{Op: OpGe, Value: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)}, true)
}
