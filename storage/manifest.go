package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// manifest is a table's durable metadata besides its WAL: what is sealed, and from which
// WAL generation on the rest is to be replayed. On disk it is a checkpoint, replaced
// atomically as a whole, and a log of the changes since (manifest_log.go).
type manifest struct {
	Version int `json:"version"`
	// Seq counts the manifest's changes: the checkpoint (MANIFEST) holds every change up
	// to its Seq, and the log (MANIFEST.log) the changes after it (manifest_log.go).
	Seq uint64 `json:"seq,omitempty"`
	// Schema is the table schema when the manifest was written, as an Arrow IPC schema
	// message. Replaying the WAL generations from WALStart evolves it further.
	Schema []byte `json:"schema"`
	// WALStart is the first WAL generation that is not in segments. Older generations are
	// deleted after the manifest is durable.
	WALStart uint64 `json:"wal_start"`
	// NextSegment is the id the next segment file gets.
	NextSegment uint64 `json:"next_segment"`
	// Segments are the sealed segments, oldest first.
	Segments []SegmentMeta `json:"segments"`
	// BatchIDs are the client batch ids of sealed writes (most recent last), bounded by
	// maxBatchIDs together with those still in the WAL.
	BatchIDs []batchIDEntry `json:"batch_ids,omitempty"`
}

// batchIDEntry is one remembered client batch id and the rows its Write stored.
type batchIDEntry struct {
	ID   string `json:"id"`
	Rows int64  `json:"rows"`
}

// SegmentMeta describes one immutable segment file (its metadata is never changed in
// place either: a manifest change replaces the segment, under a new file name): a Parquet file of one (window,
// shard), its rows sorted by ts within each row group (a sealed or re-encoded segment is
// sorted as a whole; a stitched one is its inputs' row groups in order of their first
// ts), with zone maps per segment and per row group.
type SegmentMeta struct {
	// File is the segment's file name in the table directory.
	File string `json:"file"`
	// Window is the start of its time window, microseconds since the epoch.
	Window int64 `json:"window"`
	Shard  int   `json:"shard"`
	Rows   int64 `json:"rows"`
	// Bytes is the file size; Open checks it.
	Bytes int64 `json:"bytes"`
	// CRC is the CRC32C of the whole file, checked by Table.Verify and by Open with
	// Options.VerifySegments.
	CRC uint32 `json:"crc32c"`
	// MinTS and MaxTS bound its ts column, microseconds, inclusive.
	MinTS int64 `json:"min_ts"`
	MaxTS int64 `json:"max_ts"`
	// Columns are the per-column zone maps over the whole segment.
	Columns map[string]*ColumnStats `json:"columns"`
	// RowGroups are the Parquet row groups in file order.
	RowGroups []RowGroupMeta `json:"row_groups"`
}

// RowGroupMeta is one row group's zone map.
type RowGroupMeta struct {
	Rows    int64                   `json:"rows"`
	MinTS   int64                   `json:"min_ts"`
	MaxTS   int64                   `json:"max_ts"`
	Columns map[string]*ColumnStats `json:"columns"`
}

func (m *SegmentMeta) zone() zone {
	return zone{rows: m.Rows, minTS: m.MinTS, maxTS: m.MaxTS, cols: m.Columns, haveCols: true}
}

func (r *RowGroupMeta) zone() zone {
	return zone{rows: r.Rows, minTS: r.MinTS, maxTS: r.MaxTS, cols: r.Columns, haveCols: true}
}

// manifestOnDisk is what readManifest found besides the manifest.
type manifestOnDisk struct {
	checkpoint int64 // bytes of MANIFEST
	logSize    int64 // bytes of valid records in MANIFEST.log
	tornTail   bool  // bytes after them were dropped as a torn append
}

// readManifest reads the manifest in dir: the checkpoint with the changes of the log
// applied; nil when there is none.
func readManifest(dir string) (*manifest, manifestOnDisk, error) {
	path := filepath.Join(dir, manifestFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, manifestOnDisk{}, nil
	}
	if err != nil {
		return nil, manifestOnDisk{}, fmt.Errorf("read manifest %s: %w", path, err)
	}
	m, err := decodeManifest(path, data)
	if err != nil {
		return nil, manifestOnDisk{}, err
	}
	od := manifestOnDisk{checkpoint: int64(len(data))}
	if m, od.logSize, od.tornTail, err = replayManifestLog(dir, m); err != nil {
		return nil, manifestOnDisk{}, err
	}
	return m, od, nil
}

// decodeManifest decodes the checkpoint read from path.
func decodeManifest(path string, data []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("FATAL: %s: manifest does not decode: %v; it is written atomically, so this is damage, not a crash; restore it or move the table directory aside: %w", path, err, ErrCorrupt)
	}
	if m.Version < 1 || m.Version > manifestVersion {
		return nil, fmt.Errorf("FATAL: %s: manifest version %d; this build reads versions 1..%d: %w", path, m.Version, manifestVersion, ErrCorrupt)
	}
	return &m, nil
}

// writeManifest replaces the manifest checkpoint in dir atomically and durably (c: the
// table's segment JSON cache) and returns its size. m.Seq must be past every record of
// the log (the caller then calls checkpointWritten).
func writeManifest(fsys fileSystem, dir string, m *manifest, c *segmentJSON) (int, error) {
	m.Version = manifestVersion
	data, err := c.marshalManifest(m)
	if err != nil {
		return 0, fmt.Errorf("encode manifest: %w", err)
	}
	return len(data), writeFileSync(fsys, filepath.Join(dir, manifestFileName), data)
}

// encodeSchema serializes a schema as an Arrow IPC stream with no batches.
func encodeSchema(s *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeSchema is the inverse of encodeSchema.
func decodeSchema(b []byte) (s *arrow.Schema, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("decode schema: panic: %v", p)
		}
	}()
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decode schema: %w", err)
	}
	defer r.Release()
	return r.Schema(), nil
}

// segmentJSON caches the JSON of segments' metadata for marshalManifest. A segment's
// metadata never changes (a merge writes a new file under a new name), and a checkpoint
// holds every segment's zone maps per row group and column: marshalling all of it took
// 30–45 ms by the 26th seal of a 9.8 Mi-event run, when every seal wrote the whole
// manifest, and grows with the table. Entries are keyed by file name and checked against
// the rest of the segment's scalar metadata (segmentKey); each marshal keeps only the
// entries it used.
type segmentJSON struct {
	mu   sync.Mutex
	m    map[string]segmentJSONEntry
	size int // of the last manifest marshalled, to size the next one's buffer
}

type segmentJSONEntry struct {
	key  segmentJSONKey
	data []byte
}

// segmentJSONKey is what an entry is checked against besides the file name: a segment's
// metadata is never changed in place, so this only guards against a name reused for
// other contents (a bug elsewhere) being written with stale JSON.
type segmentJSONKey struct {
	rows, bytes, window, minTS, maxTS int64
	crc                               uint32
	shard, rowGroups, columns         int
}

func segmentKey(s *SegmentMeta) segmentJSONKey {
	return segmentJSONKey{rows: s.Rows, bytes: s.Bytes, window: s.Window, minTS: s.MinTS, maxTS: s.MaxTS,
		crc: s.CRC, shard: s.Shard, rowGroups: len(s.RowGroups), columns: len(s.Columns)}
}

// marshalManifest returns exactly what json.Marshal(m) does (TestMarshalManifestMatches),
// the segments' JSON taken from c where it holds them.
func (c *segmentJSON) marshalManifest(m *manifest) ([]byte, error) {
	c.mu.Lock()
	old, size := c.m, c.size
	c.mu.Unlock()
	used := make(map[string]segmentJSONEntry, len(m.Segments))
	var b bytes.Buffer
	b.Grow(size + size/8)
	field := func(name string, v any, first bool) error {
		if !first {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":`)
		data, err := json.Marshal(v)
		b.Write(data)
		return err
	}
	b.WriteByte('{')
	if err := field("version", m.Version, true); err != nil {
		return nil, err
	}
	if m.Seq != 0 {
		if err := field("seq", m.Seq, false); err != nil {
			return nil, err
		}
	}
	if err := field("schema", m.Schema, false); err != nil {
		return nil, err
	}
	if err := field("wal_start", m.WALStart, false); err != nil {
		return nil, err
	}
	if err := field("next_segment", m.NextSegment, false); err != nil {
		return nil, err
	}
	b.WriteString(`,"segments":`)
	if m.Segments == nil {
		b.WriteString("null")
	} else {
		b.WriteByte('[')
		for i := range m.Segments {
			seg := &m.Segments[i]
			if i > 0 {
				b.WriteByte(',')
			}
			e, ok := old[seg.File]
			if key := segmentKey(seg); !ok || e.key != key {
				data, err := json.Marshal(seg)
				if err != nil {
					return nil, err
				}
				e = segmentJSONEntry{key: key, data: data}
			}
			used[seg.File] = e
			b.Write(e.data)
		}
		b.WriteByte(']')
	}
	if len(m.BatchIDs) > 0 {
		if err := field("batch_ids", m.BatchIDs, false); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	c.mu.Lock()
	c.m, c.size = used, b.Len()
	c.mu.Unlock()
	return b.Bytes(), nil
}
