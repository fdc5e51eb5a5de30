package storage

import "time"

// pacer bounds the share of a core that background encoding (sealing, compaction) takes
// while writes are arriving, so that acknowledgements do not queue behind Parquet
// encoding for the CPU (see DESIGN.md, "Ack latency and sealing"). The encoder calls
// step between units of work (a column of a row group, a segment); once it has been busy
// for at least paceSlice and the table is being written to, step sleeps long enough that
// busy time stays at share of the wall time. When no write arrived recently, or the head
// is so large that backpressure is near, it does not sleep: sealing then runs at full
// speed, because falling behind would make writes wait longer than any pause.
type pacer struct {
	share  float64     // fraction of wall time the encoder may be busy while yielding
	yield  func() bool // whether to yield now (writes arriving and no pressure)
	now    func() time.Time
	sleep  func(time.Duration)
	start  time.Time     // start of the current busy slice
	slept  time.Duration // total time slept, for stats
	yields int64
}

func newPacer(share float64, yield func() bool) *pacer {
	return &pacer{share: share, yield: yield, now: time.Now, sleep: time.Sleep}
}

// step is called between units of work; nil pacers do nothing.
func (p *pacer) step() {
	if p == nil {
		return
	}
	now := p.now()
	if p.start.IsZero() {
		p.start = now
		return
	}
	busy := now.Sub(p.start)
	if busy < paceSlice {
		return
	}
	if p.yield() {
		d := time.Duration(float64(busy) * (1 - p.share) / p.share)
		d = min(d, maxPaceSleep)
		p.sleep(d)
		p.slept += d
		p.yields++
		now = p.now()
	}
	p.start = now
}

// sealPacer returns the pacer of t's background encoding: it yields while a commit
// happened within paceRecentWrite and the head holds less than paceFullSpeedFactor x
// SealRows rows.
func (t *Table) sealPacer() *pacer {
	return newPacer(paceShare, func() bool {
		last := t.lastCommit.Load()
		if last == 0 || time.Since(time.Unix(0, last)) > paceRecentWrite {
			return false
		}
		t.mu.Lock()
		rows := t.rows
		t.mu.Unlock()
		return rows < paceFullSpeedFactor*t.opts.SealRows
	})
}

// compactPacer paces compaction: while writes arrive it takes at most compactPaceShare
// of a core, whatever the head holds. Merging runs beside sealing (its own goroutine)
// and only makes reads cheaper; at sealPacer's half a core, a merge and a seal together
// took a core and more, and acknowledgements queued behind them (p99 72 ms at 250k
// events/s against 8 ms at p50).
func (t *Table) compactPacer() *pacer {
	return newPacer(compactPaceShare, func() bool {
		last := t.lastCommit.Load()
		return last != 0 && time.Since(time.Unix(0, last)) <= paceRecentWrite
	})
}

// split returns n pacers for n encoders working in parallel, each allowed share/n of the
// wall time while yielding, so that together they take what p alone would; at full speed
// (no yield) each runs unpaced. A nil p gives nil pacers.
func (p *pacer) split(n int) []*pacer {
	out := make([]*pacer, n)
	if p == nil {
		return out
	}
	for i := range out {
		out[i] = &pacer{share: p.share / float64(n), yield: p.yield, now: p.now, sleep: p.sleep}
	}
	return out
}

// absorb adds the pauses of the pacers split from p to p's.
func (p *pacer) absorb(parts []*pacer) {
	if p == nil {
		return
	}
	for _, c := range parts {
		if c != nil {
			p.slept += c.slept
			p.yields += c.yields
		}
	}
}
