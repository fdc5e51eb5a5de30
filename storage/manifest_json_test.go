package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestMarshalManifestMatches: the cached manifest encoding is byte for byte what
// json.Marshal gives, over random manifests written one after another with one cache
// (segments added, removed, and one file name reused with other contents, which must not
// take the cached JSON), nil and empty lists, and strings JSON escapes.
func TestMarshalManifestMatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	strs := []string{"", "a", "host-1", "<script>&amp;", "line\nbreak", "quote\"s", "\u2028sep", "ünï", "C:\\Windows"}
	stats := func() map[string]*ColumnStats {
		if rng.IntN(5) == 0 {
			return nil
		}
		m := map[string]*ColumnStats{}
		for i := range rng.IntN(6) {
			cs := &ColumnStats{Nulls: rng.Int64N(100)}
			switch rng.IntN(3) {
			case 0:
				cs.Kind, cs.HasMinMax, cs.MinS, cs.MaxS = "s", true, strs[rng.IntN(len(strs))], strs[rng.IntN(len(strs))]
			case 1:
				cs.Kind, cs.HasMinMax, cs.MinI, cs.MaxI = "i", true, -rng.Int64N(1<<40), rng.Int64N(1<<40)
			}
			m[fmt.Sprintf("%s-%d", strs[rng.IntN(len(strs))], i)] = cs
		}
		return m
	}
	segment := func(id int) SegmentMeta {
		sm := SegmentMeta{File: segName(uint64(id)), Window: rng.Int64N(1 << 40), Shard: rng.IntN(4), Rows: rng.Int64N(1 << 20), Bytes: rng.Int64N(1 << 30), CRC: rng.Uint32(), MinTS: rng.Int64N(1 << 50), MaxTS: rng.Int64N(1 << 50), Columns: stats()}
		for range rng.IntN(3) {
			sm.RowGroups = append(sm.RowGroups, RowGroupMeta{Rows: rng.Int64N(1 << 16), MinTS: rng.Int64N(1 << 50), Columns: stats()})
		}
		return sm
	}
	var c segmentJSON
	var segs []SegmentMeta
	next := 0
	for round := 0; round < 200; round++ {
		switch rng.IntN(4) {
		case 0: // a seal: segments added
			for range 1 + rng.IntN(4) {
				segs = append(segs, segment(next))
				next++
			}
		case 1: // a merge: some removed, one added
			if len(segs) > 2 {
				i := rng.IntN(len(segs) - 1)
				segs = append(segs[:i:i], segs[i+2:]...)
				segs = append(segs, segment(next))
				next++
			}
		case 2: // a name reused with other contents
			if len(segs) > 0 {
				i := rng.IntN(len(segs))
				sm := segment(0)
				sm.File = segs[i].File
				segs[i] = sm
			}
		}
		m := &manifest{Version: manifestVersion, Schema: []byte(strs[rng.IntN(len(strs))]), WALStart: rng.Uint64(), NextSegment: uint64(next), Segments: segs}
		if rng.IntN(2) == 0 {
			m.Seq = rng.Uint64N(1 << 40)
		}
		switch rng.IntN(3) {
		case 0:
			m.Segments = nil
		case 1:
			m.BatchIDs = []batchIDEntry{{ID: strs[rng.IntN(len(strs))], Rows: 3}, {ID: "b", Rows: 1}}
		}
		if round%50 == 0 {
			m.Segments = []SegmentMeta{}
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.marshalManifest(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: the cached encoding differs from json.Marshal:\n got %s\nwant %s", round, got, want)
		}
	}
}

// TestManifestFieldsMarshalled: marshalManifest writes the manifest's fields by hand; a
// field added to manifest must be added there too (and to this list), or the cached
// encoding would silently drop it (TestMarshalManifestMatches only sees fields it sets).
func TestManifestFieldsMarshalled(t *testing.T) {
	want := []string{"version", "seq,omitempty", "schema", "wal_start", "next_segment", "segments", "batch_ids,omitempty"}
	typ := reflect.TypeFor[manifest]()
	var got []string
	for i := range typ.NumField() {
		got = append(got, typ.Field(i).Tag.Get("json"))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("manifest's JSON fields are %q; marshalManifest writes %q: update it (and this list)", got, want)
	}
}

// BenchmarkManifestMarshal: encoding a manifest of 120 segments of 300 columns and 3
// row groups each (~5 MB of JSON, what a 9.8 Mi-event corpus run reaches) after a seal
// added 4 segments: json.Marshal of all of it against the cached segments' JSON.
// benchSegment is a segment's metadata as the corpus's Windows events make it: 300
// string columns, 3 row groups, a zone map for each (~110 KB of JSON).
func benchSegment(id uint64) SegmentMeta {
	stats := func() map[string]*ColumnStats {
		m := make(map[string]*ColumnStats, 300)
		for c := range 300 {
			m[fmt.Sprintf("Column%03d", c)] = &ColumnStats{Nulls: int64(c), Kind: "s", HasMinMax: true, MinS: "C:\\Windows\\System32\\svchost.exe", MaxS: "WIN-DC01.example.local"}
		}
		return m
	}
	sm := SegmentMeta{File: segName(id), Rows: 100000, Bytes: 1 << 22, CRC: uint32(id), Columns: stats()}
	for range 3 {
		sm.RowGroups = append(sm.RowGroups, RowGroupMeta{Rows: 33000, Columns: stats()})
	}
	return sm
}

func BenchmarkManifestMarshal(b *testing.B) {
	m := &manifest{Version: manifestVersion, Schema: make([]byte, 30000)}
	for i := range 124 {
		m.Segments = append(m.Segments, benchSegment(uint64(i)))
	}
	before := &manifest{Version: m.Version, Schema: m.Schema, Segments: m.Segments[:120]}
	b.Run("encoder=json", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder=cached", func(b *testing.B) {
		var c segmentJSON
		for b.Loop() {
			b.StopTimer()
			if _, err := c.marshalManifest(before); err != nil { // the manifest before the seal
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := c.marshalManifest(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
