package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Table is one append-only table: a WAL on disk and, for now, every row in memory (the
// head).
//
// Writes go through a commit goroutine owned by the table (group commit): Write validates
// and evolves the schema under mu, queues its frames and waits; the goroutine takes
// everything queued, writes it with one fsync, publishes the rows to the head and
// answers every waiter. Queue order is validation order is WAL order is head order, so
// replaying the WAL rebuilds exactly the schema Write validated against.
type Table struct {
	name    string
	dir     string
	walPath string

	// wal is touched only by the commit goroutine (and by Open/replace before or inside it).
	wal *wal

	notify chan struct{} // cap 1: "the queue is not empty"
	stop   chan struct{} // closed by close
	done   chan struct{} // closed when the commit goroutine returns

	mu sync.Mutex
	// schema is the schema of the committed rows; nil until the first commit.
	schema *arrow.Schema
	// batches is the head: committed batches in stored form, owned by the table. It is
	// only appended to or replaced by a new slice, never modified in place, so a scan may
	// keep a prefix of it.
	batches []arrow.RecordBatch
	rows    int64
	// pending is schema plus every queued write: what the next Write is validated against.
	pending *arrow.Schema
	queue   []*commitReq
	// err is the sticky ErrWriteFailed error; once set the table refuses writes.
	err    error
	closed bool
	stats  TableStats
}

// TableStats are counters of one table since Open.
type TableStats struct {
	// Rows and Batches are what the head holds.
	Rows    int64
	Batches int
	// WALBytes is the size of the WAL's acknowledged frames.
	WALBytes int64
	// Commits is the number of Write calls committed, Syncs the number of WAL fsyncs
	// they took: Commits/Syncs is the group-commit factor.
	Commits int64
	Syncs   int64
}

// commitReq is one Write call waiting for the commit goroutine.
type commitReq struct {
	recs    []arrow.RecordBatch // stored form; owned by the request until committed
	frames  [][]byte
	rows    int64
	schema  *arrow.Schema // the table schema once this call is applied
	replace bool          // IfExistsReplace: the call becomes the table's whole content
	done    chan error    // cap 1
}

func newTable(name, dir string, w *wal) *Table {
	t := &Table{
		name:    name,
		dir:     dir,
		walPath: filepath.Join(dir, walFileName),
		wal:     w,
		notify:  make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	return t
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

// Rows returns the number of committed rows in the table.
func (t *Table) Rows() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows
}

// Stats returns the table's counters.
func (t *Table) Stats() TableStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.stats
	st.Rows = t.rows
	st.Batches = len(t.batches)
	return st
}

// committed reports whether the table has at least one committed write, i.e. a schema.
func (t *Table) committed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.schema != nil
}

// write validates recs (stored form, owned by the call from now on) against the pending
// schema, queues them and waits until they are fsynced and visible, or failed. Once
// queued the call waits for the outcome even if ctx is cancelled, so that its result is
// never ambiguous; the wait is one fsync.
func (t *Table) write(ctx context.Context, recs []arrow.RecordBatch, orig []*arrow.Schema, frames [][]byte, replace bool) (int64, error) {
	req := &commitReq{recs: recs, frames: frames, replace: replace, done: make(chan error, 1)}
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
	schema := t.pending
	if replace {
		schema = nil
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
		case <-t.stop:
			t.commitQueued()
			return
		}
	}
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
	}
	if err := t.wal.append(frames); err != nil {
		t.answer(group, t.setFailed(err))
		return
	}
	t.mu.Lock()
	for _, r := range group {
		t.batches = append(t.batches, r.recs...)
		t.rows += r.rows
		r.recs = nil
	}
	t.schema = group[len(group)-1].schema
	t.stats.Commits += int64(len(group))
	t.stats.Syncs++
	t.stats.WALBytes = t.wal.size
	t.mu.Unlock()
	t.answer(group, nil)
}

// commitReplace makes r the table's whole content: the new WAL is written to a temporary
// file, fsynced, renamed over the old one, and the directory fsynced; only then is the
// head swapped. A crash at any point leaves either the old or the new WAL, whole.
func (t *Table) commitReplace(r *commitReq) {
	if err := t.stickyErr(); err != nil {
		t.answer([]*commitReq{r}, err)
		return
	}
	tmp := t.walPath + tmpSuffix
	_ = os.Remove(tmp)
	nw, err := createWAL(tmp)
	if err == nil {
		err = nw.append(r.frames)
		if err == nil {
			if err = os.Rename(tmp, t.walPath); err != nil {
				err = fmt.Errorf("rename %s to %s: %w", tmp, t.walPath, err)
			} else {
				err = syncDir(t.dir)
			}
		}
		if err != nil {
			nw.close()
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		t.answer([]*commitReq{r}, t.setFailed(err))
		return
	}
	nw.path = t.walPath
	old := t.wal
	t.wal = nw
	_ = old.close()

	t.mu.Lock()
	prev := t.batches
	t.batches = r.recs
	r.recs = nil
	t.rows = r.rows
	t.schema = r.schema
	t.stats.Commits++
	t.stats.Syncs++
	t.stats.WALBytes = nw.size
	t.mu.Unlock()
	releaseAll(prev)
	t.answer([]*commitReq{r}, nil)
}

// answer completes the requests with err, releasing what they still own.
func (t *Table) answer(reqs []*commitReq, err error) {
	for _, r := range reqs {
		releaseAll(r.recs)
		r.recs = nil
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
// and releases the head. Scans already running keep their own references.
func (t *Table) close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	close(t.stop)
	<-t.done
	err := t.wal.close()
	t.mu.Lock()
	head := t.batches
	t.batches = nil
	t.mu.Unlock()
	releaseAll(head)
	return err
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		if r != nil {
			r.Release()
		}
	}
}
