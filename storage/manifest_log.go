package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// The manifest is a checkpoint (MANIFEST, replaced atomically) followed by a log of the
// changes made since (MANIFEST.log, appended to): a change is one record, appended and
// fsynced, instead of the whole manifest rewritten and fsynced. The whole manifest lists
// every segment's zone maps per row group and column (about 40 KB per segment of
// Windows events); rewriting it at every seal cost work proportional to the table, 4.8 MB
// by the 26th seal of a 9.8 Mi-event run, and a node that ingests for weeks keeps
// thousands of segments. A record costs what the change adds. Once the log holds as many
// bytes as the checkpoint (at least manifestLogMin), the next change writes a new
// checkpoint and empties the log, so that reading both at Open costs at most about twice
// the manifest. See DESIGN.md, "The manifest".
//
// Each change has a sequence number (manifest.Seq, one past the previous change's); a
// checkpoint holds every change up to its Seq, and Open applies the log's records past
// it, in order, each exactly one past the last. A record is its payload's length and
// CRC32C (little-endian uint32 each), then the payload: a manifestDelta as JSON.

// manifestDelta is one manifest change: the segments dropped and added, the batch ids of
// the rows it sealed, the new WAL start and segment counter, the schema if it changed.
type manifestDelta struct {
	Seq         uint64         `json:"seq"`
	WALStart    uint64         `json:"wal_start"`
	NextSegment uint64         `json:"next_segment"`
	Schema      []byte         `json:"schema,omitempty"` // nil: unchanged
	Drop        []string       `json:"drop,omitempty"`   // file names of segments removed
	Add         []SegmentMeta  `json:"add,omitempty"`    // appended to the segments
	BatchIDs    []batchIDEntry `json:"batch_ids,omitempty"`
}

// applyDelta returns m with d applied (m is not modified): what the change makes of the
// manifest, in memory and at replay alike. It checks that d follows m and that the
// segments it drops are listed and those it adds are not.
func applyDelta(m *manifest, d *manifestDelta) (*manifest, error) {
	if d.Seq != m.Seq+1 {
		return nil, fmt.Errorf("change %d does not follow change %d", d.Seq, m.Seq)
	}
	n := *m
	n.Version = manifestVersion
	n.Seq = d.Seq
	n.WALStart, n.NextSegment = d.WALStart, d.NextSegment
	if d.Schema != nil {
		n.Schema = d.Schema
	}
	drop := make(map[string]bool, len(d.Drop))
	for _, f := range d.Drop {
		drop[f] = true
	}
	n.Segments = make([]SegmentMeta, 0, max(0, len(m.Segments)-len(d.Drop))+len(d.Add))
	listed := make(map[string]bool, len(m.Segments))
	for _, s := range m.Segments {
		listed[s.File] = true
		if !drop[s.File] {
			n.Segments = append(n.Segments, s)
		}
	}
	if len(n.Segments) != len(m.Segments)-len(drop) || len(drop) != len(d.Drop) {
		return nil, fmt.Errorf("change %d drops a segment that is not listed (or one twice)", d.Seq)
	}
	for _, s := range d.Add {
		if listed[s.File] && !drop[s.File] {
			return nil, fmt.Errorf("change %d adds segment %s, which is already listed", d.Seq, s.File)
		}
		listed[s.File] = true
		n.Segments = append(n.Segments, s)
	}
	if len(d.BatchIDs) > 0 {
		ids := append(slices.Clone(m.BatchIDs), d.BatchIDs...)
		if len(ids) > maxBatchIDs {
			ids = ids[len(ids)-maxBatchIDs:]
		}
		n.BatchIDs = ids
	}
	return &n, nil
}

// manifestRecord frames d as a log record.
func manifestRecord(d *manifestDelta) ([]byte, error) {
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode manifest change: %w", err)
	}
	rec := make([]byte, 8, 8+len(payload))
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(payload, castagnoli))
	return append(rec, payload...), nil
}

// replayManifestLog applies the records of the log in dir to m, the checkpoint, and
// returns the result, the length of the log's valid prefix (what the next record is
// appended after) and whether bytes after it were dropped as a torn tail.
//
// A crash during an append leaves at most that append damaged (cut short, zeros, or
// parts of it not on disk), at the end of the log, and it was never acknowledged as a
// change: the seal deletes its WAL generations only after the fsync. So the first
// record that is not whole and valid ends the log, unless a valid record follows it
// somewhere: that is damage in the middle, and the changes after it are real (their WAL
// generations are gone), so it is ErrCorrupt, as is a valid record that does not decode
// or does not follow the one before. Records at or below the checkpoint's seq (the
// crash came between a checkpoint and emptying the log) may only lead the log.
func replayManifestLog(dir string, m *manifest) (*manifest, int64, bool, error) {
	path := filepath.Join(dir, manifestLogName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read manifest log %s: %w", path, err)
	}
	corrupt := func(off int, format string, args ...any) error {
		return fmt.Errorf("FATAL: %s: record at byte %d: %s; restore the table directory from a backup or move it aside: %w",
			path, off, fmt.Sprintf(format, args...), ErrCorrupt)
	}
	off := 0
	applied := false
	for off < len(data) {
		payload, ok := validRecord(data[off:])
		if !ok {
			if p := nextValidRecord(data, off+1, m.Seq); p >= 0 {
				return nil, 0, false, corrupt(off, "damaged, with a valid record at byte %d after it", p)
			}
			return m, int64(off), true, nil // torn tail
		}
		var d manifestDelta
		dec := json.NewDecoder(bytes.NewReader(payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, 0, false, corrupt(off, "does not decode: %v", err)
		}
		if d.Seq <= m.Seq {
			if applied {
				return nil, 0, false, corrupt(off, "change %d repeats an earlier one (the last was %d)", d.Seq, m.Seq)
			}
			off += 8 + len(payload)
			continue // the checkpoint holds it
		}
		next, err := applyDelta(m, &d)
		if err != nil {
			return nil, 0, false, corrupt(off, "%v", err)
		}
		m, applied = next, true
		off += 8 + len(payload)
	}
	return m, int64(off), false, nil
}

// validRecord returns the payload of the record at the start of b if it is whole, not
// empty, and passes its checksum.
func validRecord(b []byte) ([]byte, bool) {
	if len(b) < 8 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint32(b[0:4]))
	if n == 0 || n > len(b)-8 {
		return nil, false
	}
	payload := b[8 : 8+n]
	return payload, crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(b[4:8])
}

// recordStart is how every record's payload begins (manifestDelta's first field).
var recordStart = []byte(`{"seq":`)

// nextValidRecord returns the offset of the first valid record in data at or after
// from, or -1: candidates are where a payload could begin (recordStart), so the search
// is linear.
func nextValidRecord(data []byte, from int, after uint64) int {
	for at := from + 8; at < len(data); {
		i := bytes.Index(data[at:], recordStart)
		if i < 0 {
			return -1
		}
		if p := at + i - 8; p >= from {
			if payload, ok := validRecord(data[p:]); ok {
				// A record at or below the seq reached was written before the log was
				// last emptied or cut back: stale bytes a torn append may show, not
				// evidence of damage in the middle.
				var d struct {
					Seq uint64 `json:"seq"`
				}
				if json.Unmarshal(payload, &d) != nil || d.Seq > after {
					return p
				}
			}
		}
		at += i + 1
	}
	return -1
}

// manifestLog is a table's open MANIFEST.log. Only the commit goroutine appends to it
// or empties it; size and broken are read under the table's mu by a seal deciding,
// before it goes to the commit goroutine, whether its change will be a record or a
// checkpoint.
type manifestLog struct {
	f      writableFile // nil until this process appends the first record
	size   int64        // the valid records' bytes: where the next record goes
	broken bool         // an append failed and could not be undone: checkpoint next
	// checkpoint is the size of the manifest checkpoint on disk (0: none yet; the log
	// is then not used).
	checkpoint int64
}

// manifestLogMin is the least the log may grow to before a change writes a checkpoint
// instead of a record; past it the log may grow to the checkpoint's size. The
// environment variable SIGMAFLIGHT_STORAGE_MANIFEST_LOG_BYTES overrides it (tests make
// the real binary checkpoint often).
var manifestLogMin = func() int64 {
	if v := envInt64("SIGMAFLIGHT_STORAGE_MANIFEST_LOG_BYTES"); v > 0 {
		return v
	}
	return 4 << 20
}()

// fits reports whether a record of n bytes goes into the log (otherwise the change
// writes a checkpoint); under the table's mu.
func (l *manifestLog) fits(n int) bool {
	return !manifestLogOff && l.checkpoint > 0 && !l.broken && l.size+int64(n) <= max(manifestLogMin, l.checkpoint)
}

// manifestLogOff makes every manifest change write a checkpoint (tests of that path).
var manifestLogOff bool

// appendManifestRecord appends rec to the table's manifest log and fsyncs it; on the
// commit goroutine. A failed write is undone (the log truncated back) and returned: the
// change did not happen; if the truncation fails too, only a prefix of the record can
// be in the file (a torn tail) and the log is marked broken, so nothing is appended
// after it. A failed fsync leaves the change perhaps durable and perhaps not: the error
// wraps errAfterRename, and the caller keeps every file either manifest names and fails
// the table until reopen.
func (t *Table) appendManifestRecord(rec []byte) error {
	t.mu.Lock()
	l := &t.mlog
	size := l.size
	t.mu.Unlock()
	path := filepath.Join(t.dir, manifestLogName)
	if err := t.openManifestLog(size); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(rec, size); err != nil {
		if terr := l.f.Truncate(size); terr != nil {
			t.mu.Lock()
			l.broken = true
			t.mu.Unlock()
		}
		return fmt.Errorf("append to manifest log %s: %w", path, err)
	}
	if err := l.f.Sync(); err != nil {
		t.mu.Lock()
		l.broken = true
		t.mu.Unlock()
		return fmt.Errorf("fsync manifest log %s: %w: %w", path, errAfterRename, err)
	}
	t.mu.Lock()
	l.size = size + int64(len(rec))
	t.mu.Unlock()
	return nil
}

// commitManifest makes the change d, which turns the table's manifest into man, durable:
// as a record of the log, or as a checkpoint when the log is full; on the commit
// goroutine. Errors are those of appendManifestRecord and writeManifest (an error
// wrapping errAfterRename leaves either manifest possibly durable).
func (t *Table) commitManifest(man *manifest, d *manifestDelta) error {
	rec, err := manifestRecord(d)
	if err != nil {
		return err
	}
	t.mu.Lock()
	fits := t.mlog.fits(len(rec))
	t.mu.Unlock()
	if fits {
		return t.appendManifestRecord(rec)
	}
	n, err := writeManifest(t.fs, t.dir, man, &t.segJSON)
	if err != nil {
		return err
	}
	t.checkpointWritten(n)
	return nil
}

// openManifestLog opens the log for appending after its first size bytes, the valid
// records (what follows is a torn append of an earlier process, dropped now), once per
// process; on the commit goroutine.
func (t *Table) openManifestLog(size int64) error {
	if t.mlog.f != nil {
		return nil
	}
	path := filepath.Join(t.dir, manifestLogName)
	f, err := t.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE, filePerm)
	if err != nil {
		return fmt.Errorf("open manifest log %s: %w", path, err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("truncate manifest log %s: %w", path, err)
	}
	// The log's directory entry must be durable before a record in it is: fsynced at
	// the first open of each process, whether the file is new or not (an earlier
	// process may have created it and failed that fsync).
	if err := syncDir(t.fs, t.dir); err != nil {
		f.Close()
		return err
	}
	t.mlog.f = f
	return nil
}

// checkpointWritten notes a new checkpoint of n bytes, durable, whose Seq covers every
// record of the log, and empties the log; on the commit goroutine (or Open). Emptying may
// fail without harm (replay skips the records a checkpoint covers): the log is then
// marked broken, so that the next change writes a checkpoint and tries again.
func (t *Table) checkpointWritten(n int) {
	t.mu.Lock()
	l := &t.mlog
	l.checkpoint = int64(n)
	l.size = 0
	t.mu.Unlock()
	ok := t.openManifestLog(0) == nil && l.f.Truncate(0) == nil && l.f.Sync() == nil
	t.mu.Lock()
	l.broken = !ok
	t.mu.Unlock()
}

// closeManifestLog closes the log file (Table.close, after the commit goroutine ended).
func (t *Table) closeManifestLog() {
	if t.mlog.f != nil {
		t.mlog.f.Close()
		t.mlog.f = nil
	}
}
