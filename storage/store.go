package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// mem allocates every Arrow buffer the store creates. The Go allocator lets the garbage
// collector reclaim buffers a caller forgets to release.
var mem memory.Allocator = memory.DefaultAllocator

// Store is the set of tables under one data directory.
type Store struct {
	dir       string
	tablesDir string
	lock      *dirLock
	recovery  []RecoveryReport
	opts      Options
	fs        fileSystem
	now       func() time.Time

	maintCtx    context.Context
	maintCancel context.CancelFunc
	maintStop   chan struct{}
	maintDone   chan struct{}
	maintKick   chan struct{}

	mu     sync.RWMutex
	tables map[string]*Table
	closed bool
}

// RecoveryReport says what Open found in one table's WAL.
type RecoveryReport struct {
	Table string
	// Path is the WAL file.
	Path string
	// Frames and Rows are what was replayed.
	Frames int
	Rows   int64
	// TruncatedBytes is what was cut from the WAL's tail: a torn or corrupt last frame,
	// or the frames of a Write call that never completed. None of it was acknowledged
	// unless the disk lost or damaged fsynced data.
	TruncatedBytes int64
	// Removed says the table held no complete write (a crash while creating it) and its
	// directory was removed.
	Removed bool
	// Segments is the number of sealed segments found valid.
	Segments int
	// Quarantined lists the segments that failed verification ("path: reason"); each was
	// moved to the table's quarantine/ directory and dropped from the manifest. Their rows
	// are no longer visible: restore or inspect them by hand.
	Quarantined []string
}

// Open opens (creating if needed) the store in opts.Dir and recovers every table: each
// WAL is replayed, a torn tail is truncated (see Recovery), and a WAL corrupted in a way
// a crash cannot explain makes Open fail with ErrCorrupt naming the file and offset.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("open store: Options.Dir is empty; set the data directory")
	}
	dir := filepath.Clean(opts.Dir)
	if err := mkdirSync(osFS{}, dir); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir:       dir,
		tablesDir: filepath.Join(dir, tablesDirName),
		lock:      lock,
		tables:    map[string]*Table{},
		opts:      opts,
		fs:        opts.fs,
		now:       opts.now,
		maintStop: make(chan struct{}),
		maintDone: make(chan struct{}),
		maintKick: make(chan struct{}, 1),
	}
	if s.fs == nil {
		s.fs = osFS{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.maintCtx, s.maintCancel = context.WithCancel(context.Background())
	if err := s.recover(ctx); err != nil {
		for _, t := range s.tables {
			t.close()
		}
		lock.unlock()
		return nil, err
	}
	interval := opts.MaintenanceInterval
	if interval == 0 {
		interval = defaultMaintenanceInterval
	}
	if interval > 0 {
		go s.maintenanceLoop(interval)
	} else {
		close(s.maintDone)
	}
	return s, nil
}

// tableOptions returns the effective options of the named table.
func (s *Store) tableOptions(name string) TableOptions {
	o := s.opts.Tables[name]
	return o.merge(s.opts.TableDefaults).withDefaults()
}

// newTable creates the in-memory table, wired to the store.
func (s *Store) newTable(name, dir string, w *wal) *Table {
	t := newTable(name, dir, w, s.fs, s.tableOptions(name), s.now)
	t.kick = func() {
		select {
		case s.maintKick <- struct{}{}:
		default:
		}
	}
	return t
}

// recover empties the trash and replays every table.
func (s *Store) recover(ctx context.Context) error {
	if err := mkdirSync(s.fs, s.tablesDir); err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	trash := filepath.Join(s.dir, trashDirName)
	if _, err := os.Stat(trash); err == nil {
		if err := removeAllSync(s.fs, trash); err != nil {
			return fmt.Errorf("open store: empty trash: %w", err)
		}
	}
	entries, err := os.ReadDir(s.tablesDir)
	if err != nil {
		return fmt.Errorf("open store: list tables: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if validateTableName(name) != nil {
			slog.Warn("storage: ignoring directory that is not a table", "path", filepath.Join(s.tablesDir, name))
			continue
		}
		t, rep, err := s.recoverTable(ctx, name)
		if err != nil {
			return fmt.Errorf("open store %s: recover table %q: %w", s.dir, name, err)
		}
		s.recovery = append(s.recovery, rep)
		if rep.TruncatedBytes > 0 || rep.Removed {
			slog.Warn("storage: recovered table WAL", "table", name, "path", rep.Path,
				"frames", rep.Frames, "rows", rep.Rows, "truncated_bytes", rep.TruncatedBytes, "removed", rep.Removed)
		}
		if t != nil {
			s.tables[name] = t
		}
	}
	return nil
}

// recoverTable opens one table: manifest, segments (verified; bad ones quarantined),
// then the WAL generations from the manifest's WALStart. It returns a nil table (and
// Removed) for a table directory without a complete write.
func (s *Store) recoverTable(ctx context.Context, name string) (*Table, RecoveryReport, error) {
	dir := filepath.Join(s.tablesDir, name)
	rep := RecoveryReport{Table: name, Path: dir}

	man, onDisk, err := readManifest(dir)
	if err != nil {
		return nil, rep, err
	}
	if onDisk.tornTail {
		if err := checkTornManifestTail(dir, man); err != nil {
			return nil, rep, err
		}
	}
	var segJSON segmentJSON
	keepOld := false
	var orphanIDs uint64
	if man != nil && onDisk.logSize > 0 {
		// The log's records may be in the page cache only (the process that appended
		// them was killed before its fsync, or the fsync failed and a later one would not
		// be trusted): before Open deletes WAL generations and segments by what they say,
		// they are made durable as a new checkpoint (a new file, fsynced), which holds
		// them all (same seq), so the log is spent.
		if n, err := writeManifest(s.fs, dir, man, &segJSON); err != nil {
			// A full disk must not keep the store from opening: delete nothing by the
			// log this time (sealed WAL generations, unlisted segments stay); the first
			// change writes a checkpoint (broken), and the seal after it removes them.
			slog.Warn("storage: could not checkpoint the manifest log at open; keeping sealed WAL generations and unlisted segments", "table", name, "err", err)
			keepOld = true
		} else {
			onDisk.checkpoint, onDisk.logSize = int64(n), 0
			// Emptied now rather than at the first append, so that a torn tail goes too;
			// failing is harmless (the checkpoint holds every record; the first append
			// truncates the log again).
			if f, err := s.fs.OpenFile(filepath.Join(dir, manifestLogName), os.O_WRONLY, filePerm); err == nil {
				if f.Truncate(0) == nil {
					f.Sync()
				}
				f.Close()
			}
		}
	}
	// A legacy single WAL becomes generation 0.
	legacy := filepath.Join(dir, legacyWALFileName)
	if man == nil {
		if _, err := os.Stat(legacy); err == nil {
			if err := s.fs.Rename(legacy, filepath.Join(dir, walName(0))); err != nil {
				return nil, rep, fmt.Errorf("rename legacy WAL %s: %w", legacy, err)
			}
			if err := syncDir(s.fs, dir); err != nil {
				return nil, rep, err
			}
		}
		_ = os.Remove(legacy + tmpSuffix)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, rep, fmt.Errorf("list table directory %s: %w", dir, err)
	}
	walStart := uint64(0)
	if man != nil {
		walStart = man.WALStart
	}
	listed := map[string]bool{}
	if man != nil {
		for _, m := range man.Segments {
			listed[m.File] = true
		}
	}
	var gens []uint64
	changed := false
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		switch {
		case strings.HasSuffix(n, tmpSuffix):
			// A Replace whose manifest names this generation completed but for the rename.
			if g, ok := parseWALName(strings.TrimSuffix(n, tmpSuffix)); ok && man != nil && g == man.WALStart {
				final := strings.TrimSuffix(p, tmpSuffix)
				if _, err := os.Stat(final); errors.Is(err, fs.ErrNotExist) {
					if err := s.fs.Rename(p, final); err != nil {
						return nil, rep, fmt.Errorf("finish replace: rename %s: %w", p, err)
					}
					gens = append(gens, g)
					changed = true
					continue
				}
			}
			if err := os.Remove(p); err != nil {
				return nil, rep, fmt.Errorf("remove %s: %w", p, err)
			}
			changed = true
		case strings.HasPrefix(n, walPrefix):
			g, ok := parseWALName(n)
			if !ok {
				continue
			}
			if g < walStart {
				if keepOld {
					continue
				}
				if err := os.Remove(p); err != nil {
					return nil, rep, fmt.Errorf("remove sealed WAL %s: %w", p, err)
				}
				changed = true
				continue
			}
			gens = append(gens, g)
		case strings.HasPrefix(n, segPrefix) && strings.HasSuffix(n, segSuffix) && !listed[n]:
			// A seal or compaction that crashed before its manifest swap.
			if keepOld {
				orphanIDs = max(orphanIDs, segID(n)+1)
				continue
			}
			if err := os.Remove(p); err != nil {
				return nil, rep, fmt.Errorf("remove orphan segment %s: %w", p, err)
			}
			changed = true
		}
	}
	if changed {
		if err := syncDir(s.fs, dir); err != nil {
			return nil, rep, err
		}
	}
	slices.Sort(gens)

	t := s.newTable(name, dir, nil)
	t.segJSON.m, t.segJSON.size = segJSON.m, segJSON.size
	t.segIDs = orphanIDs
	t.mlog.broken = keepOld
	if man != nil {
		t.man = man
		t.mlog.size = onDisk.logSize
		if man.Version >= 2 {
			// A version-1 checkpoint gets no log: a build reading only version 1 would
			// not see it. The first change writes a version-2 checkpoint.
			t.mlog.checkpoint = onDisk.checkpoint
		}
		if len(man.Schema) > 0 {
			if t.schema, err = decodeSchema(man.Schema); err != nil {
				return nil, rep, fmt.Errorf("FATAL: %s: manifest schema: %v: %w", filepath.Join(dir, manifestFileName), err, ErrCorrupt)
			}
		}
		if err := s.loadSegments(t, &rep); err != nil {
			t.releaseForRecovery()
			return nil, rep, err
		}
		for _, e := range man.BatchIDs {
			t.rememberID(e.ID, e.Rows)
		}
	}
	now := s.now()
	var last replayResult
	for _, g := range gens {
		path := filepath.Join(dir, walName(g))
		rep.Path = path
		res, err := replayWAL(ctx, path, func(call []arrow.RecordBatch, id string) error {
			var rows int64
			for _, rec := range call {
				schema, err := evolveSchema(name, t.schema, rec.Schema(), rec.Schema())
				if err != nil {
					releaseAll(call)
					return err
				}
				t.schema = schema
				rows += rec.NumRows()
			}
			t.publish(&commitReq{recs: call, rows: rows, id: id}, now, g)
			return nil
		})
		rep.Frames += res.frames
		rep.TruncatedBytes += res.truncated
		if err != nil {
			t.releaseForRecovery()
			return nil, rep, err
		}
		last = res
	}
	rep.Rows = t.rows
	if t.schema == nil {
		t.releaseForRecovery()
		rep.Removed = true
		return nil, rep, removeAllSync(s.fs, dir)
	}
	var w *wal
	if len(gens) > 0 {
		g := gens[len(gens)-1]
		w, err = openWAL(s.fs, filepath.Join(dir, walName(g)), g, last.size)
	} else {
		g := max(walStart, 1)
		w, err = createWAL(s.fs, filepath.Join(dir, walName(g)), g)
	}
	if err != nil {
		t.releaseForRecovery()
		return nil, rep, err
	}
	t.wal = w
	t.pending = t.schema
	t.start()
	return t, rep, nil
}

// checkTornManifestTail is Open's check of a manifest log whose last bytes were dropped
// as a torn append (man: the manifest without them). A torn append was never
// acknowledged, so the change that made it deleted nothing: WAL generation man.WALStart
// is still there (or, for a Replace, its .tmp) when any later one is, and so is every
// segment man lists. If one is gone, the dropped bytes were a durable change, damaged
// since (the records before it being whole), and its rows would be lost: ErrCorrupt.
func checkTornManifestTail(dir string, man *manifest) error {
	walStart := man.WALStart
	// A torn append deleted no segment either: every segment the manifest without it
	// lists is there (or in quarantine/, moved by an Open whose checkpoint failed). One
	// missing means the dropped record was a durable merge, retention or quarantine.
	for _, sm := range man.Segments {
		if _, err := os.Lstat(filepath.Join(dir, sm.File)); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Lstat(filepath.Join(dir, quarantineDirName, sm.File)); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("FATAL: %s: its last record does not read back, and segment %s, which the manifest without it lists, is gone: the record was a durable change, damaged since; restore the table directory from a backup or move it aside: %w",
					filepath.Join(dir, manifestLogName), sm.File, ErrCorrupt)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list table directory %s: %w", dir, err)
	}
	found, later := false, false
	for _, e := range entries {
		g, ok := parseWALName(strings.TrimSuffix(e.Name(), tmpSuffix))
		if !ok {
			continue
		}
		found = found || g == walStart
		later = later || g > walStart
	}
	if later && !found {
		return fmt.Errorf("FATAL: %s: its last record does not read back, and WAL generation %d, which the manifest without it needs, is gone: the record was a durable change, damaged since; restore the table directory from a backup or move it aside: %w",
			filepath.Join(dir, manifestLogName), walStart, ErrCorrupt)
	}
	return nil
}

// releaseForRecovery releases what a table being recovered holds.
func (t *Table) releaseForRecovery() {
	t.closeManifestLog()
	releaseAll(t.batches)
	t.batches, t.heads = nil, nil
	for _, s := range t.segments {
		s.release()
	}
	t.segments = nil
}

// loadSegments verifies every segment of t's manifest; a segment that fails is moved to
// quarantine/, reported, and dropped from the manifest (rewritten).
func (s *Store) loadSegments(t *Table, rep *RecoveryReport) error {
	var bad []string
	keep := t.man.Segments[:0:0]
	for _, m := range t.man.Segments {
		if err := verifySegment(s.fs, t.dir, m, s.opts.VerifySegments); err != nil {
			path := filepath.Join(t.dir, m.File)
			if !errors.Is(err, errSegmentCorrupt) {
				// Not evidence of damage (EMFILE, EACCES, EIO...): quarantining
				// would hide good rows; fail Open and let the operator fix the cause.
				return fmt.Errorf("verify segment %s: %w", path, err)
			}
			qdir := filepath.Join(t.dir, quarantineDirName)
			if err := mkdirSync(s.fs, qdir); err != nil {
				return err
			}
			if rerr := s.fs.Rename(path, filepath.Join(qdir, m.File)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return fmt.Errorf("quarantine segment %s: %w", path, rerr)
			}
			msg := fmt.Sprintf("%s: %v (%d rows of window %s, shard %d)", path, err, m.Rows,
				time.UnixMicro(m.Window).UTC().Format(time.RFC3339), m.Shard)
			slog.Error("storage: corrupt segment quarantined; its rows are not visible", "table", t.name,
				"path", path, "moved_to", qdir, "reason", err.Error(), "rows", m.Rows)
			bad = append(bad, msg)
			continue
		}
		keep = append(keep, m)
	}
	if len(bad) > 0 {
		if err := syncDir(s.fs, t.dir); err != nil {
			return err
		}
		t.man.Segments = keep
		t.man.Seq++ // past the log's records: this checkpoint holds them
		n, err := writeManifest(s.fs, t.dir, t.man, &t.segJSON)
		if err != nil {
			return err
		}
		t.checkpointWritten(n)
	}
	for _, m := range keep {
		t.segments = append(t.segments, t.newSegment(m))
	}
	rep.Segments = len(keep)
	rep.Quarantined = bad
	return nil
}

// Recovery returns what Open found in each table's WAL, sorted by table.
func (s *Store) Recovery() []RecoveryReport {
	out := slices.Clone(s.recovery)
	slices.SortFunc(out, func(a, b RecoveryReport) int { return strings.Compare(a.Table, b.Table) })
	return out
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Close commits what is queued, closes every table and releases the directory lock.
// Writes after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	tables := s.tables
	s.tables = map[string]*Table{}
	s.mu.Unlock()
	close(s.maintStop)
	s.maintCancel()
	<-s.maintDone

	var errs []error
	for _, t := range tables {
		if err := t.close(); err != nil {
			errs = append(errs, err)
		}
	}
	freeRemovedFiles()
	if err := s.lock.unlock(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Write appends the batches to table durably: when it returns nil every row is on disk
// (fsynced) and visible to scans. It returns the number of rows written.
//
// All batches of a call are validated before any is written, and the call is atomic
// across a crash: recovery keeps all of its batches or none. Batches may have 0 rows (they
// still evolve the schema). Write retains the caller's batches (or converted copies) in
// the in-memory head; the caller releases its own references as usual and must not
// mutate the buffers afterwards. Concurrent Writes to one table share an fsync.
func (s *Store) Write(ctx context.Context, table string, opts WriteOptions, batches []arrow.RecordBatch) (int64, error) {
	n, err := s.write(ctx, table, opts, batches, true)
	if errors.Is(err, errDroppedColumnGone) {
		// The table lost a column this call's batches left out as all null (a Replace
		// or a re-create came first): write them again with every column.
		n, err = s.write(ctx, table, opts, batches, false)
	}
	return n, err
}

// errDroppedColumnGone is returned by Table.write when a column dropKnownNullColumns left
// out of the call's batches is no longer in the table's schema with that type.
var errDroppedColumnGone = errors.New("a column left out as all null is no longer in the table")

// write is Write; with dropNulls, columns null in every row that the table has are left
// out of the frames and the head (dropKnownNullColumns), and Table.write checks under the
// table's lock that it still has them.
func (s *Store) write(ctx context.Context, table string, opts WriteOptions, batches []arrow.RecordBatch, dropNulls bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := validateTableName(table); err != nil {
		return 0, err
	}
	recs := make([]arrow.RecordBatch, 0, len(batches))
	orig := make([]*arrow.Schema, 0, len(batches))
	ok := false
	defer func() {
		if !ok {
			releaseAll(recs)
		}
	}()
	// Table-independent checks first, so that a bad call creates nothing.
	var callSchema *arrow.Schema
	topts := s.tableOptions(table)
	ingest := s.now()
	var known *arrow.Schema // the table's schema, for dropping null columns it has
	if dropNulls && opts.IfExists != IfExistsReplace {
		known = s.pendingSchema(table)
	}
	var dropped []arrow.Field
	for i, b := range batches {
		norm, err := normalizeBatch(table, i, b)
		if err != nil {
			return 0, err
		}
		rec, err := withTS(table, norm, topts.TimeFields, ingest)
		norm.Release()
		if err != nil {
			return 0, err
		}
		var gone []arrow.Field
		rec, gone = dropKnownNullColumns(rec, known)
		dropped = append(dropped, gone...)
		recs = append(recs, rec)
		orig = append(orig, b.Schema())
		if callSchema, err = evolveSchema(table, callSchema, rec.Schema(), b.Schema()); err != nil {
			return 0, err
		}
	}
	frames := make([][]byte, len(recs))
	for i, rec := range recs {
		id := ""
		if i == 0 {
			id = opts.BatchID
		}
		fr, err := encodeFrame(rec, len(recs)-1-i, id)
		if errors.Is(err, errFrameTooLarge) {
			return 0, fmt.Errorf("table %q: batch %d (%d rows): %v: split it into smaller batches: %w", table, i, rec.NumRows(), err, ErrInvalidBatch)
		}
		if err != nil {
			return 0, fmt.Errorf("table %q: batch %d: %w", table, i, err)
		}
		frames[i] = fr
	}

	t, replace, err := s.tableForWrite(table, opts, len(recs))
	if err != nil || t == nil {
		return 0, err
	}
	ok = true // t.write owns recs now
	return t.write(ctx, recs, orig, frames, replace, opts.BatchID, dropped)
}

// pendingSchema returns the schema table's next write is validated against (nil when
// the table does not exist).
func (s *Store) pendingSchema(table string) *arrow.Schema {
	s.mu.RLock()
	t := s.tables[table]
	s.mu.RUnlock()
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

// dropKnownNullColumns returns rec without the columns that are null in every row and
// that known (the table's schema) already has with the same type: such a column adds
// nothing a scan or a seal does not get from the table schema (a column a batch lacks
// reads as nulls), yet a wide collector schema of which a batch fills a few dozen
// columns would cost an offsets buffer and a bitmap per column in every WAL frame (4
// bytes per row per column, encoded and compressed before the acknowledgement) and in
// the head. Replay rebuilds the same table: the column is in the schema from the
// manifest or from the earlier frame that brought it (a column new to the table is
// kept, so its first frame names it). A batch of 0 rows is kept whole (it may be sent
// for its schema). rec is released when a copy is returned; the columns left out are
// returned, for Table.write to check under the table's lock that the table still has
// them (a Replace may have come in between: the write is then made again with every
// column, see Write).
func dropKnownNullColumns(rec arrow.RecordBatch, known *arrow.Schema) (arrow.RecordBatch, []arrow.Field) {
	if known == nil || rec.NumRows() == 0 {
		return rec, nil
	}
	var keep []int
	for i, f := range rec.Schema().Fields() {
		c := rec.Column(i)
		drop := c.NullN() == c.Len() && f.Name != TSColumn
		if drop {
			ix := known.FieldIndices(f.Name)
			drop = len(ix) == 1 && arrow.TypeEqual(known.Field(ix[0]).Type, f.Type)
		}
		if drop && keep == nil {
			keep = make([]int, 0, rec.NumCols())
			for j := range i {
				keep = append(keep, j)
			}
		}
		if !drop && keep != nil {
			keep = append(keep, i)
		}
	}
	if keep == nil {
		return rec, nil
	}
	fields := make([]arrow.Field, len(keep))
	cols := make([]arrow.Array, len(keep))
	for j, i := range keep {
		fields[j], cols[j] = rec.Schema().Field(i), rec.Column(i)
	}
	var gone []arrow.Field
	for i, f := range rec.Schema().Fields() {
		if !slices.Contains(keep, i) {
			gone = append(gone, f)
		}
	}
	md := rec.Schema().Metadata()
	out := array.NewRecordBatch(arrow.NewSchema(fields, &md), cols, rec.NumRows())
	rec.Release()
	return out, gone
}

// tableForWrite resolves opts against the catalog, creating the table if asked. It
// returns a nil table and nil error when there is nothing to do.
func (s *Store) tableForWrite(name string, opts WriteOptions, nbatches int) (*Table, bool, error) {
	s.mu.RLock()
	closed := s.closed
	t := s.tables[name]
	s.mu.RUnlock()
	if closed {
		return nil, false, fmt.Errorf("write table %q: %w", name, ErrClosed)
	}
	if t != nil {
		return existingForWrite(t, opts, nbatches)
	}
	if opts.IfNotExists == IfNotExistsFail {
		return nil, false, fmt.Errorf("write table %q: %w", name, ErrTableNotFound)
	}
	if nbatches == 0 {
		return nil, false, fmt.Errorf("create table %q: no batches: %w: send at least one batch (it may have 0 rows) to give the table a schema", name, ErrInvalidBatch)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false, fmt.Errorf("write table %q: %w", name, ErrClosed)
	}
	if t := s.tables[name]; t != nil { // created meanwhile
		return existingForWrite(t, opts, nbatches)
	}
	dir := filepath.Join(s.tablesDir, name)
	if err := mkdirSync(s.fs, dir); err != nil {
		return nil, false, fmt.Errorf("create table %q: %w", name, err)
	}
	w, err := createWAL(s.fs, filepath.Join(dir, walName(1)), 1)
	if err != nil {
		return nil, false, fmt.Errorf("create table %q: %w", name, err)
	}
	t = s.newTable(name, dir, w)
	t.start()
	s.tables[name] = t
	return t, false, nil
}

func existingForWrite(t *Table, opts WriteOptions, nbatches int) (*Table, bool, error) {
	switch opts.IfExists {
	case IfExistsFail:
		return nil, false, fmt.Errorf("write table %q: %w", t.name, ErrTableExists)
	case IfExistsReplace:
		if nbatches == 0 {
			return nil, false, fmt.Errorf("replace table %q: no batches: %w: send at least one batch (it may have 0 rows) to give the table a schema", t.name, ErrInvalidBatch)
		}
		return t, true, nil
	case IfExistsAppend:
		if nbatches == 0 {
			return nil, false, nil
		}
		return t, false, nil
	}
	return nil, false, fmt.Errorf("write table %q: unknown IfExists value %d", t.name, opts.IfExists)
}

// Table returns the named table or ErrTableNotFound. A table exists once its first write
// is committed.
func (s *Store) Table(name string) (*Table, error) {
	s.mu.RLock()
	t := s.tables[name]
	s.mu.RUnlock()
	if t == nil || !t.committed() {
		return nil, fmt.Errorf("table %q: %w", name, ErrTableNotFound)
	}
	return t, nil
}

// Tables returns the tables sorted by name.
func (s *Store) Tables() []*Table {
	s.mu.RLock()
	out := make([]*Table, 0, len(s.tables))
	for _, t := range s.tables {
		out = append(out, t)
	}
	s.mu.RUnlock()
	out = slices.DeleteFunc(out, func(t *Table) bool { return !t.committed() })
	slices.SortFunc(out, func(a, b *Table) int { return strings.Compare(a.name, b.name) })
	return out
}

// Drop removes the table and its files. Writes queued before Drop are committed first;
// scans already running keep their snapshot. The directory is moved to the trash in one
// rename (fsynced), then deleted, so a crash never leaves half a table.
func (s *Store) Drop(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("drop table %q: %w", name, ErrClosed)
	}
	t := s.tables[name]
	if t == nil {
		return fmt.Errorf("drop table %q: %w", name, ErrTableNotFound)
	}
	delete(s.tables, name)
	if err := t.close(); err != nil {
		slog.Warn("storage: closing dropped table", "table", name, "err", err)
	}
	// From here on a scan that releases the last reference to a dead segment of this
	// table must not delete by path: the path may soon be a new table's segment.
	t.segOwner.drop()
	trash := filepath.Join(s.dir, trashDirName)
	if err := mkdirSync(s.fs, trash); err != nil {
		return fmt.Errorf("drop table %q: %w", name, err)
	}
	dst := filepath.Join(trash, name+"."+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := s.fs.Rename(t.dir, dst); err != nil {
		return fmt.Errorf("drop table %q: move %s to the trash: %w", name, t.dir, err)
	}
	if err := syncDir(s.fs, s.tablesDir); err != nil {
		return fmt.Errorf("drop table %q: %w", name, err)
	}
	if err := removeAllSync(s.fs, dst); err != nil {
		return fmt.Errorf("drop table %q: %w", name, err)
	}
	return nil
}
