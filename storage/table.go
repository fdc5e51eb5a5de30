package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Table is one append-only table: immutable segments (Parquet) listed by a manifest, WAL
// generations holding what is not sealed yet, and the head: those rows in memory.
//
// Writes go through a commit goroutine owned by the table (group commit): Write validates
// and evolves the schema under mu, queues its frames and waits; the goroutine takes
// everything queued, writes it with one fsync, publishes the rows to the head and
// answers every waiter. Queue order is validation order is WAL order is head order, so
// replaying the WAL rebuilds exactly the schema Write validated against.
//
// Everything that changes the WAL generation or the manifest (rotation, the swap at the
// end of a seal, compaction or retention, Replace) also runs on the commit goroutine, as
// an op, so it is serialized with commits without a second lock on the write path. The
// heavy part of maintenance (encoding Parquet) runs outside it, under maint.
type Table struct {
	name string
	dir  string
	fs   fileSystem
	opts TableOptions
	now  func() time.Time
	kick func() // asks the store's maintenance loop to look at this table

	segJSON segmentJSON // the segments' manifest JSON, reused from write to write

	// wal is touched only by the commit goroutine (and by Open before it starts).
	wal *wal

	notify chan struct{} // cap 1: "the queue is not empty"
	ops    chan *tableOp // maintenance steps to run on the commit goroutine
	stop   chan struct{} // closed by close
	done   chan struct{} // closed when the commit goroutine returns

	// maint serializes the maintenance jobs of this table that decide a manifest change
	// from a view taken before their long part: seal, retention, verification.
	// Compaction is not one of them (its manifest change checks that its inputs are
	// still listed): it runs under compactMu, so that a merge of seconds never holds up
	// a seal.
	maint sync.Mutex
	// compactMu serializes compactions; compaction is what Compact remembers between
	// calls, guarded by compactMu.
	compactMu  sync.Mutex
	compaction compactState
	// compacting is set while background compaction runs on its own goroutine
	// (maintain starts it), tracked by background for close.
	compacting atomic.Bool
	background sync.WaitGroup
	// cancelBackground cancels the running background compaction (under mu).
	cancelBackground context.CancelFunc

	mu sync.Mutex
	// schema is the schema of the committed rows; nil until the first commit.
	schema *arrow.Schema
	// batches is the head: committed batches in stored form, owned by the table, and
	// heads their metadata (same length). Only appended to or replaced by a new slice,
	// never modified in place, so a scan may keep a prefix of it.
	batches []arrow.RecordBatch
	heads   []headMeta
	rows    int64
	// segIDs is the next segment id not yet reserved (reserveSegmentIDs).
	segIDs uint64
	// segments are the live sealed segments, each holding one reference for the table.
	segments []*segment
	// man is the last durable manifest; mlog its log (changed on the commit goroutine).
	man  *manifest
	mlog manifestLog
	// epoch counts Replaces: a maintenance job started in an older epoch is discarded.
	epoch uint64
	// ids are the remembered client batch ids (rows of their Write), idOrder their
	// arrival order (bounded by maxBatchIDs), inflight those queued but not committed.
	ids      map[string]int64
	idOrder  []string
	inflight map[string]*commitReq
	// drained is closed (and replaced) whenever a seal shrinks the head or the table
	// closes, waking writes held back by headLimitFactor.
	drained chan struct{}
	// segOwner is shared by this incarnation's segments (see segOwner).
	segOwner *segOwner
	// pending is schema plus every queued write: what the next Write is validated against.
	pending *arrow.Schema
	queue   []*commitReq
	// err is the sticky ErrWriteFailed error; once set the table refuses writes.
	err    error
	closed bool
	stats  TableStats
	// lastCommit is when the last append was committed (Unix ns, wall clock): sealing
	// and compaction yield the CPU while it is recent (pace.go).
	lastCommit atomic.Int64
	// walRows is the number of head rows in WAL generation walRowsGen (the current one):
	// the commit goroutine starts a new generation once it holds SealRows rows, so that a
	// seal can take whole older generations of about SealRows rows (see "Sealing").
	walRows    int64
	walRowsGen uint64
	// checks are the segment checks started by failing scans; close waits for them.
	checks sync.WaitGroup
}

// headMeta is what the table keeps beside each head batch.
type headMeta struct {
	minTS, maxTS int64     // its ts range, microseconds
	at           time.Time // when it was committed (for SealAge)
	id           string    // the call's batch id, on the call's last batch only
	callRows     int64     // the call's rows, beside id
	gen          uint64    // the WAL generation holding it
}

// TableStats are counters of one table since Open.
type TableStats struct {
	// Rows and Batches are what the head holds.
	Rows    int64
	Batches int
	// WALBytes is the size of the current WAL generation's acknowledged frames.
	WALBytes int64
	// Commits is the number of Write calls committed, Syncs the number of WAL fsyncs
	// they took: Commits/Syncs is the group-commit factor.
	Commits int64
	Syncs   int64
	// Segments, SegmentRows and SegmentBytes describe the sealed segments.
	Segments     int
	SegmentRows  int64
	SegmentBytes int64
	// Seals, Compactions and WindowsDeleted count maintenance since Open.
	Seals          int64
	Compactions    int64
	WindowsDeleted int64
	// SealRemade counts seals that made their manifest again because a compaction
	// swapped a merge in while they wrote their segments.
	SealRemade int64
	// Stitched counts the compactions that copied their segments' row groups as they
	// were instead of merging them row by row (stitchSegments).
	Stitched int64
	// DuplicateBatches counts Writes answered from a remembered batch id.
	DuplicateBatches int64
	// EncodePauses and EncodePaused are how often and how long sealing and compaction
	// paused to leave the CPU to writes (pace.go).
	EncodePauses int64
	EncodePaused time.Duration
}

// commitReq is one Write call waiting for the commit goroutine.
type commitReq struct {
	recs    []arrow.RecordBatch // stored form; owned by the request until committed
	frames  [][]byte
	rows    int64
	schema  *arrow.Schema // the table schema once this call is applied
	replace bool          // IfExistsReplace: the call becomes the table's whole content
	id      string        // client batch id, or ""
	done    chan error    // cap 1
	// finished is closed once the outcome (err) is known, for retries waiting on it.
	finished chan struct{}
	err      error
}

// tableOp is a function run on the commit goroutine.
type tableOp struct {
	fn   func() error
	done chan error
}

// segment is a live segment file. refs counts the table's reference (while listed) and
// every scan's; the file is deleted when the last reference goes and dead is set (it was
// removed from the manifest).
type segment struct {
	meta SegmentMeta
	path string
	// suspect is set once a scan failed to read the segment and a check was started
	// (suspectSegment), so that many failing scans start one check.
	suspect atomic.Bool
	refs    atomic.Int32
	dead    atomic.Bool
	owner   *segOwner
}

func (s *segment) acquire() { s.refs.Add(1) }

func (s *segment) release() {
	if s.refs.Add(-1) == 0 && s.dead.Load() {
		s.owner.remove(s.path)
	}
}

// segOwner is what the segments of one table incarnation share: whether the table was
// dropped. A table dropped and created again under the same name numbers its segments
// from 1 again, so a scan of the old incarnation that releases the last reference to a
// dead segment after the drop must not delete by path: it would delete the new table's
// file. The drop itself removes the old files (with the directory).
type segOwner struct {
	mu      sync.Mutex
	dropped bool
}

// drop marks the incarnation dropped; call it before the table directory is moved.
func (o *segOwner) drop() {
	o.mu.Lock()
	o.dropped = true
	o.mu.Unlock()
}

// remove deletes the segment file at path unless the table was dropped. The lock makes
// the check and the removal one step against drop, which precedes the directory move.
func (o *segOwner) remove(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dropped {
		return
	}
	if err := removeInSteps(path); err != nil {
		slog.Warn("storage: removing obsolete segment", "path", path, "err", err)
	}
}

func newTable(name, dir string, w *wal, fsys fileSystem, opts TableOptions, now func() time.Time) *Table {
	return &Table{
		name:     name,
		dir:      dir,
		fs:       fsys,
		opts:     opts,
		now:      now,
		kick:     func() {},
		wal:      w,
		notify:   make(chan struct{}, 1),
		ops:      make(chan *tableOp),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		ids:      map[string]int64{},
		inflight: map[string]*commitReq{},
		man:      &manifest{WALStart: 1, NextSegment: 1},
		segOwner: &segOwner{},
		drained:  make(chan struct{}),
	}
}

// start launches the commit goroutine; close stops it.
func (t *Table) start() {
	t.mu.Lock()
	t.stats.WALBytes = t.wal.size
	t.mu.Unlock()
	go t.commitLoop()
}

// Name returns the table's name.
func (t *Table) Name() string { return t.name }

// Schema returns the table's current schema: the union of the committed batches' schemas,
// every field nullable.
func (t *Table) Schema() *arrow.Schema {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.schema == nil {
		return arrow.NewSchema(nil, nil)
	}
	return t.schema
}

// Rows returns the number of committed rows in the table (segments and head).
func (t *Table) Rows() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.rows
	for _, s := range t.segments {
		n += s.meta.Rows
	}
	return n
}

// Stats returns the table's counters.
func (t *Table) Stats() TableStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats
	st.Rows = t.rows
	st.Batches = len(t.batches)
	st.Segments = len(t.segments)
	for _, s := range t.segments {
		st.SegmentRows += s.meta.Rows
		st.SegmentBytes += s.meta.Bytes
	}
	return st
}

// Segments returns the metadata of the live segments (zone maps included), oldest first.
func (t *Table) Segments() []SegmentMeta {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]SegmentMeta, len(t.segments))
	for i, s := range t.segments {
		out[i] = s.meta
	}
	return out
}

// committed reports whether the table has at least one committed write, i.e. a schema.
func (t *Table) committed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.schema != nil
}

// rememberID records a committed batch id; t.mu must be held.
func (t *Table) rememberID(id string, rows int64) {
	if id == "" {
		return
	}
	if _, ok := t.ids[id]; ok {
		return
	}
	t.ids[id] = rows
	t.idOrder = append(t.idOrder, id)
	if len(t.idOrder) > maxBatchIDs {
		drop := len(t.idOrder) - maxBatchIDs
		for _, old := range t.idOrder[:drop] {
			delete(t.ids, old)
		}
		t.idOrder = append([]string(nil), t.idOrder[drop:]...)
	}
}

// write validates recs (stored form, owned by the call from now on) against the pending
// schema, queues them and waits until they are fsynced and visible, or failed. Once
// queued the call waits for the outcome even if ctx is cancelled, so that its result is
// never ambiguous; the wait is one fsync.
func (t *Table) write(ctx context.Context, recs []arrow.RecordBatch, orig []*arrow.Schema, frames [][]byte, replace bool, id string, dropped []arrow.Field) (int64, error) {
	req := &commitReq{recs: recs, frames: frames, replace: replace, id: id, done: make(chan error, 1), finished: make(chan struct{})}
	for _, rec := range recs {
		req.rows += rec.NumRows()
	}
	fail := func(err error) (int64, error) {
		releaseAll(recs)
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return fail(fmt.Errorf("write table %q: %w", t.name, ErrClosed))
	}
	if t.err != nil {
		err := t.err
		t.mu.Unlock()
		return fail(err)
	}
	// Backpressure: wait while the head is over its limit (sealing is behind).
	if limit := headLimitFactor * t.opts.SealRows; !replace && t.rows >= limit {
		deadline := time.NewTimer(maxHeadWait)
		defer deadline.Stop()
		for t.rows >= limit && !t.closed && t.err == nil {
			ch, rows := t.drained, t.rows
			t.mu.Unlock()
			t.kick()
			select {
			case <-ch:
			case <-deadline.C:
				return fail(fmt.Errorf("write table %q: the head holds %d rows (limit %d) and sealing did not make room within %s: %w",
					t.name, rows, limit, maxHeadWait, ErrHeadFull))
			case <-ctx.Done():
				return fail(fmt.Errorf("write table %q: the head holds %d rows (limit %d): %w: %w", t.name, rows, limit, ErrHeadFull, ctx.Err()))
			}
			t.mu.Lock()
		}
		if t.closed {
			t.mu.Unlock()
			return fail(fmt.Errorf("write table %q: %w", t.name, ErrClosed))
		}
		if t.err != nil {
			err := t.err
			t.mu.Unlock()
			return fail(err)
		}
	}
	if id != "" && !replace {
		if rows, ok := t.ids[id]; ok {
			t.stats.DuplicateBatches++
			t.mu.Unlock()
			releaseAll(recs)
			return rows, nil
		}
		if prev := t.inflight[id]; prev != nil {
			t.mu.Unlock()
			releaseAll(recs)
			<-prev.finished
			if prev.err != nil {
				return 0, prev.err
			}
			t.mu.Lock()
			t.stats.DuplicateBatches++
			t.mu.Unlock()
			return prev.rows, nil
		}
	}
	schema := t.pending
	if replace {
		schema = nil
	}
	// Columns the batches left out as all null must still be in the schema they are
	// validated against, with their type (see dropKnownNullColumns).
	for _, f := range dropped {
		ix := []int(nil)
		if schema != nil {
			ix = schema.FieldIndices(f.Name)
		}
		if len(ix) != 1 || !arrow.TypeEqual(schema.Field(ix[0]).Type, f.Type) {
			t.mu.Unlock()
			return fail(errDroppedColumnGone)
		}
	}
	for i, rec := range recs {
		s, err := evolveSchema(t.name, schema, rec.Schema(), orig[i])
		if err != nil {
			t.mu.Unlock()
			return fail(err)
		}
		schema = s
	}
	if schema == nil {
		t.mu.Unlock()
		return fail(fmt.Errorf("BUG: table %q: write of %d batches left no schema", t.name, len(recs)))
	}
	t.pending = schema
	req.schema = schema
	t.queue = append(t.queue, req)
	if id != "" {
		t.inflight[id] = req
	}
	t.mu.Unlock()

	select {
	case t.notify <- struct{}{}:
	default:
	}
	if err := <-req.done; err != nil {
		return 0, err
	}
	return req.rows, nil
}

// commitLoop is the table's commit goroutine. On stop it commits what is still queued
// (Close marks the table closed first, so nothing more arrives) and returns.
func (t *Table) commitLoop() {
	defer close(t.done)
	for {
		select {
		case <-t.notify:
			t.commitQueued()
		case op := <-t.ops:
			t.commitQueued()
			op.done <- op.fn()
		case <-t.stop:
			t.commitQueued()
			return
		}
	}
}

// runOp runs fn on the commit goroutine and returns its error.
func (t *Table) runOp(ctx context.Context, fn func() error) error {
	op := &tableOp{fn: fn, done: make(chan error, 1)}
	select {
	case t.ops <- op:
	case <-t.done:
		return fmt.Errorf("table %q: %w", t.name, ErrClosed)
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.done
}

// commitQueued commits every queued request: runs of appends share one write and one
// fsync; a replace is done on its own, in queue order.
func (t *Table) commitQueued() {
	t.mu.Lock()
	reqs := t.queue
	t.queue = nil
	t.mu.Unlock()

	var group []*commitReq
	for _, r := range reqs {
		if r.replace {
			t.commitAppends(group)
			group = nil
			t.commitReplace(r)
			continue
		}
		group = append(group, r)
	}
	t.commitAppends(group)
}

// commitAppends appends the frames of group to the WAL with one fsync, then publishes.
func (t *Table) commitAppends(group []*commitReq) {
	if len(group) == 0 {
		return
	}
	if err := t.stickyErr(); err != nil {
		t.answer(group, err)
		return
	}
	var frames [][]byte
	for _, r := range group {
		frames = append(frames, r.frames...)
		r.frames = nil
	}
	err := t.wal.append(frames)
	releaseFrames(frames) // written (or failed); nothing reads them again
	if err != nil {
		t.answer(group, t.setFailed(err))
		return
	}
	now := t.now()
	t.lastCommit.Store(time.Now().UnixNano())
	t.mu.Lock()
	for _, r := range group {
		t.publish(r, now, t.wal.gen)
	}
	t.schema = group[len(group)-1].schema
	t.stats.Commits += int64(len(group))
	t.stats.Syncs++
	t.stats.WALBytes = t.wal.size
	full := t.rows >= t.opts.SealRows
	rotate := t.walRows >= t.opts.SealRows
	t.mu.Unlock()
	t.answer(group, nil)
	if rotate {
		t.rotateWAL()
	}
	if full {
		t.kick()
	}
}

// rotateWAL starts a new WAL generation (on the commit goroutine) once the current one
// holds SealRows rows, so that seals take whole generations of about SealRows rows and
// free room in the head step by step. A failure is logged and writing goes on in the
// current generation: nothing is lost, the next seal rotates (and reports) itself.
func (t *Table) rotateWAL() {
	if t.stickyErr() != nil {
		return
	}
	gen := t.wal.gen + 1
	nw, err := createWAL(t.fs, filepath.Join(t.dir, walName(gen)), gen)
	if err != nil {
		slog.Warn("storage: starting a new WAL generation", "table", t.name, "err", err)
		return
	}
	old := t.wal
	t.wal = nw
	if err := old.close(); err != nil {
		slog.Warn("storage: closing rotated WAL", "path", old.path, "err", err)
	}
	t.mu.Lock()
	t.stats.WALBytes = 0
	t.mu.Unlock()
}

// publish appends r's batches, held by WAL generation gen, to the head; t.mu must be held.
func (t *Table) publish(r *commitReq, now time.Time, gen uint64) {
	for i, rec := range r.recs {
		lo, hi, ok := tsRange(rec)
		if !ok {
			// A batch without ts (written before the column existed) is never pruned.
			lo, hi = math.MinInt64, math.MaxInt64
		}
		hm := headMeta{minTS: lo, maxTS: hi, at: now, gen: gen}
		if i == len(r.recs)-1 {
			hm.id, hm.callRows = r.id, r.rows
		}
		t.batches = append(t.batches, rec)
		t.heads = append(t.heads, hm)
	}
	t.rows += r.rows
	if gen != t.walRowsGen {
		t.walRowsGen, t.walRows = gen, 0
	}
	t.walRows += r.rows
	r.recs = nil
	t.rememberID(r.id, r.rows)
}

// commitReplace makes r the table's whole content: the new WAL generation is written to
// a temporary file and fsynced, a manifest with no segments that starts at that
// generation is swapped in, the temporary file is renamed into place and the directory
// fsynced; only then are the head and segments swapped. Recovery finishes the rename if
// the manifest names the generation (see DESIGN.md), so a crash leaves either the old or
// the new table, whole.
func (t *Table) commitReplace(r *commitReq) {
	if err := t.stickyErr(); err != nil {
		t.answer([]*commitReq{r}, err)
		return
	}
	gen := t.wal.gen + 1
	path := filepath.Join(t.dir, walName(gen))
	tmp := path + tmpSuffix
	_ = os.Remove(tmp)
	t.mu.Lock()
	man := &manifest{Seq: t.man.Seq + 1, WALStart: gen, NextSegment: t.man.NextSegment}
	t.mu.Unlock()
	var nw *wal
	// keepTmp is set once the manifest naming gen may be on disk: from then on the
	// .tmp holds the only copy of the new table Open would find, so it must stay (Open
	// finishes the rename, or removes it if the old manifest survived).
	keepTmp := false
	schemaBytes, err := encodeSchema(r.schema)
	if err == nil {
		man.Schema = schemaBytes
		nw, err = createWAL(t.fs, tmp, gen)
	}
	if err == nil {
		if err = nw.append(r.frames); err == nil {
			var n int
			n, err = writeManifest(t.fs, t.dir, man, &t.segJSON)
			keepTmp = err == nil || errors.Is(err, errAfterRename)
			if err == nil {
				t.checkpointWritten(n)
				if err = t.fs.Rename(tmp, path); err != nil {
					err = fmt.Errorf("rename %s to %s: %w", tmp, path, err)
				} else {
					err = syncDir(t.fs, t.dir)
				}
			}
		}
		if err != nil {
			nw.close()
		}
	}
	if err != nil {
		if !keepTmp {
			_ = os.Remove(tmp)
		}
		t.answer([]*commitReq{r}, t.setFailed(err))
		return
	}
	nw.path = path
	old := t.wal
	t.wal = nw
	_ = old.close()

	now := t.now()
	t.mu.Lock()
	prev, prevSegs := t.batches, t.segments
	t.batches, t.heads, t.segments, t.rows = nil, nil, nil, 0
	t.ids, t.idOrder = map[string]int64{}, nil
	t.man = man
	t.epoch++
	close(t.drained)
	t.drained = make(chan struct{})
	t.publish(r, now, gen)
	t.schema = r.schema
	t.stats.Commits++
	t.stats.Syncs++
	t.stats.WALBytes = nw.size
	t.mu.Unlock()
	releaseAll(prev)
	for _, s := range prevSegs {
		s.dead.Store(true)
		s.release()
	}
	t.removeWALsBefore(gen)
	t.answer([]*commitReq{r}, nil)
}

// removeWALsBefore deletes WAL generations below gen (they are in segments, or replaced).
func (t *Table) removeWALsBefore(gen uint64) {
	entries, err := os.ReadDir(t.dir)
	if err != nil {
		slog.Warn("storage: listing WAL generations", "dir", t.dir, "err", err)
		return
	}
	removed := false
	for _, e := range entries {
		if g, ok := parseWALName(e.Name()); ok && g < gen {
			if err := removeInSteps(filepath.Join(t.dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				slog.Warn("storage: removing sealed WAL generation", "path", filepath.Join(t.dir, e.Name()), "err", err)
			}
			removed = true
		}
	}
	if removed {
		if err := syncDir(t.fs, t.dir); err != nil {
			slog.Warn("storage: fsync after removing WAL generations", "dir", t.dir, "err", err)
		}
	}
}

// answer completes the requests with err, releasing what they still own.
func (t *Table) answer(reqs []*commitReq, err error) {
	t.mu.Lock()
	for _, r := range reqs {
		if r.id != "" && t.inflight[r.id] == r {
			delete(t.inflight, r.id)
		}
	}
	t.mu.Unlock()
	for _, r := range reqs {
		releaseAll(r.recs)
		r.recs = nil
		r.err = err
		close(r.finished)
		r.done <- err
	}
}

func (t *Table) stickyErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// setFailed makes the table refuse writes from now on and returns the sticky error.
func (t *Table) setFailed(cause error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = fmt.Errorf("table %q: %w (reopen the store to recover): %w", t.name, ErrWriteFailed, cause)
	}
	return t.err
}

// close stops the commit goroutine after it has committed what was queued, closes the WAL
// and releases the head and the table's segment references (files stay). Scans already
// running keep their own references.
func (t *Table) close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	close(t.drained)
	t.drained = make(chan struct{})
	t.mu.Unlock()
	close(t.stop)
	<-t.done
	t.mu.Lock()
	if t.cancelBackground != nil {
		t.cancelBackground()
	}
	t.mu.Unlock()
	t.checks.Wait()     // they fail fast with ErrClosed now
	t.background.Wait() // a background compaction stops at its next check of ctx
	t.maint.Lock()      // wait for a maintenance job to notice
	t.maint.Unlock()
	t.compactMu.Lock()
	t.compactMu.Unlock()
	err := t.wal.close()
	t.closeManifestLog()
	t.mu.Lock()
	head, segs := t.batches, t.segments
	t.batches, t.heads, t.segments = nil, nil, nil
	t.mu.Unlock()
	releaseAll(head)
	for _, s := range segs {
		s.release()
	}
	return err
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		if r != nil {
			r.Release()
		}
	}
}

// notePacer adds what p paused to the table's stats.
func (t *Table) notePacer(p *pacer) {
	t.mu.Lock()
	t.stats.EncodePauses += p.yields
	t.stats.EncodePaused += p.slept
	t.mu.Unlock()
}
