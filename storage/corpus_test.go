package storage

import (
	"archive/zip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// otrfCorpus is every OTRF recording of otrfDir as record batches of at most 4,096
// events (a batch holds events of one recording, with the keys they hold), with one
// corpus-wide type per key (int64 where every recording has only integers in it), an
// explicit ts column spreading the events over one minute from corpusBase in order, and
// the size of the events as JSON lines. About 148k distinct events of 28 attacks and
// 350 MB of JSON: what sealing meets under sustained ingest, where one recording
// repeated would give the dictionaries and the compressor repeated values.
type otrfCorpus struct {
	recs      []arrow.RecordBatch
	events    int64
	jsonBytes int64
}

var corpusBase = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

var corpusOnce struct {
	sync.Once
	c *otrfCorpus
}

// loadCorpus returns the corpus (built once per test binary; callers must not release
// its batches).
func loadCorpus(tb testing.TB) *otrfCorpus {
	tb.Helper()
	corpusOnce.Do(func() {
		ents, err := os.ReadDir(otrfDir)
		if err != nil {
			tb.Fatalf("read %s: %v", otrfDir, err)
		}
		var names []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".zip") && holdsJSON(tb, e.Name()) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		// First pass: each recording's key types; a key is int64 only if it is in all.
		files := make([]*otrfEvents, len(names))
		intEverywhere := map[string]bool{}
		for i, n := range names {
			oe := decodeOTRF(tb, n)
			files[i] = oe
			for k, t := range oe.types {
				isInt := t.ID() == arrow.INT64
				if prev, ok := intEverywhere[k]; ok {
					isInt = isInt && prev
				}
				intEverywhere[k] = isInt
			}
		}
		c := &otrfCorpus{}
		var plain []arrow.RecordBatch
		for i, oe := range files {
			for key := range oe.types {
				if !intEverywhere[key] {
					oe.types[key] = arrow.BinaryTypes.String
				}
			}
			c.events += int64(len(oe.events))
			c.jsonBytes += jsonBytes(tb, oe)
			plain = append(plain, oe.batches(0, len(oe.events), 4096)...)
			files[i] = nil // the decoded maps are garbage from here: keep the heap small
		}
		c.recs = spreadBatches(plain, 1, corpusBase, time.Minute)
		releaseAll(plain)
		corpusOnce.c = c
	})
	if corpusOnce.c == nil {
		tb.Fatal("loading the OTRF corpus failed")
	}
	return corpusOnce.c
}

// holdsJSON reports whether the named zip of otrfDir holds a JSON recording (some hold
// network captures only).
func holdsJSON(tb testing.TB, name string) bool {
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		tb.Fatalf("open OTRF recording: %v", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".json") && !strings.HasPrefix(f.Name, "__MACOSX/") {
			return true
		}
	}
	return false
}
