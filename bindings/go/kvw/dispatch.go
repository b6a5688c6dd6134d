package kvw

import (
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// How completions reach Go
//
// The shim opens every kvw client in poll delivery: kvw's callbacks only run
// inside kvwb_wait and only append a self-contained record to a C queue. One
// dispatcher goroutine per client loops on kvwb_wait (a cgo call that blocks
// its OS thread, which is fine) and pops the records with kvwb_next. Each
// record carries the int64 op id chosen at submit; the dispatcher removes
// the op from core.pending (so it completes exactly once) and
//   - hands the result to a queued blocking call through a buffered channel
//     (never blocks, even if the caller stopped waiting), or
//   - queues the async callback for the client's callback goroutine, which
//     runs callbacks one at a time in completion order.
// The dispatcher itself never runs user code, so callbacks may block, submit
// more ops, wait for them, or call Close. No Go pointer is ever kept by C: C
// only sees op ids, and value bytes are copied by kvw during the submit call.
//
// A blocking call alone on its client skips all this: a kvwb_call hands the
// outcome from the C thread that learns it to the goroutine waiting in
// kvwb_call_wait (Bucket.direct), one thread hop instead of three.

type opKind uint8

const (
	opPut opKind = iota
	opCreate
	opUpdate
	opDelete
	opDeleteWithVersion
	opPurge
	opGet
	opGetEntry
	opTxn     // a transaction's commit
	opGetMany // a multi-key read
)

var opNames = [...]string{"put", "create", "update", "delete", "delete_with_version", "purge", "get", "get_entry", "txn",
	"get_many"}

func (k opKind) String() string { return opNames[k] }
func (k opKind) isRead() bool   { return k == opGet || k == opGetEntry }

// ttlFeature is the feature a TTL on op k needs.
func (k opKind) ttlFeature() Feature {
	if k == opCreate || k == opPurge {
		return FeatureTTL
	}
	return FeatureTTLOnWrite
}

// pending is one submitted op waiting for its record. At most one of ch,
// write, read is set (none for a fire-and-forget async op).
type pending struct {
	key   string
	kind  opKind
	ttl   int64       // ms for the _ttl submit; noTTL for the plain one
	ch    chan result // a queued blocking call, buffered (cap 1)
	write func(Version, error)
	read  func(Entry, error)
	txn   func([]Version, error)
	many  func(Snapshot, error)
}

// result is a decoded record.
type result struct {
	version  Version   // writes
	entry    Entry     // reads
	versions []Version // a committed transaction: each write's
	snapshot Snapshot  // a multi-key read
	err      error
}

type job struct {
	p pending
	r result
}

// core is the shared state of a Client that its goroutines use. It never
// points at the Client except through keep, so an unreachable Client can be
// closed by its cleanup.
type core struct {
	h native.Kvwb_client

	mu      sync.Mutex
	pending map[int64]pending
	keep    *Client // set while ops are pending: dropping the Client must not cancel them
	nextID  atomic.Int64

	// Window: ops accepted and not yet completed (an async op until its
	// callback has returned), like kvw's max_inflight. Async submits beyond
	// max are refused (ErrBusy); WaitForCapacity waiters are woken once it
	// drains to lowWater, so a refused submitter resumes with room for a
	// burst rather than one op at a time. Synchronous ops are not gated here
	// (a callback may make one while the window is full of queued callbacks)
	// but by kvw's own window, which frees as records are delivered:
	// progress wakes them after each delivery.
	inflight atomic.Int64
	blocking atomic.Int64 // blocking calls running (Bucket.do picks direct or queued)
	max      int64
	lowWater int64
	room     notifier
	progress notifier

	// Callback goroutine.
	cbMu     sync.Mutex
	cbCond   sync.Cond
	cbQueue  []job
	cbClosed bool

	closeOnce      sync.Once
	closing        atomic.Bool
	dispatcherDone chan struct{}
	runnerDone     chan struct{}
}

func newCore(h native.Kvwb_client, window int64) *core {
	c := &core{
		h:              h,
		pending:        make(map[int64]pending),
		max:            window,
		lowWater:       window - max(window/8, 1),
		dispatcherDone: make(chan struct{}),
		runnerDone:     make(chan struct{}),
	}
	c.cbCond.L = &c.cbMu
	c.room.ch = make(chan struct{})
	c.progress.ch = make(chan struct{})
	go c.dispatch()
	go c.runCallbacks()
	return c
}

// add registers op id before its submit (the record may arrive before the
// submit call returns).
func (c *core) add(id int64, p pending, owner *Client) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.keep = owner
	}
	c.pending[id] = p
	c.mu.Unlock()
}

// take removes op id; ok is false if it is not (or no longer) pending.
func (c *core) take(id int64) (p pending, ok bool) {
	c.mu.Lock()
	p, ok = c.pending[id]
	if ok {
		delete(c.pending, id)
		if len(c.pending) == 0 {
			c.keep = nil
		}
	}
	c.mu.Unlock()
	return p, ok
}

// release ends an op's hold on the window.
func (c *core) release() {
	if c.inflight.Add(-1) <= c.lowWater {
		c.room.notify()
	}
}

// tryAcquire takes a window slot for an async op, without waiting.
func (c *core) tryAcquire() bool {
	if c.inflight.Add(1) > c.max {
		c.release()
		return false
	}
	return true
}

// dispatch is the dispatcher goroutine (see the comment at the top). It
// exits once kvwb_wait reports the client closed and drained; close then
// ends the callback goroutine.
func (c *core) dispatch() {
	defer close(c.dispatcherDone)
	var batch []job
	for {
		n := native.Kvwb_wait(c.h, -1)
		batch = c.deliver(batch)
		if n < 0 { // KVW_ECLOSED: closed and drained (anything else: not open)
			return
		}
	}
}

// deliver pops every queued record and hands each result to its op: sync
// callers directly, callbacks through the callback goroutine's queue.
func (c *core) deliver(batch []job) []job {
	for {
		rec := native.Kvwb_next(c.h)
		if rec.Swigcptr() == 0 {
			break
		}
		p, ok := c.take(rec.GetOp_id())
		if !ok { // cannot happen: each op id is submitted once
			native.Kvwb_completion_free(rec)
			continue
		}
		r := decode(rec, p)
		native.Kvwb_completion_free(rec)
		switch {
		case p.ch != nil:
			p.ch <- r // buffered: never blocks
			c.release()
		case p.write != nil || p.read != nil || p.txn != nil || p.many != nil:
			batch = append(batch, job{p, r})
		default:
			c.release()
		}
	}
	c.progress.notify()
	if len(batch) == 0 {
		return batch
	}
	c.cbMu.Lock()
	if len(c.cbQueue) == 0 {
		c.cbQueue, batch = batch, c.cbQueue[:0]
	} else {
		c.cbQueue = append(c.cbQueue, batch...)
		clear(batch)
		batch = batch[:0]
	}
	c.cbMu.Unlock()
	c.cbCond.Signal()
	return batch
}

// runCallbacks is the callback goroutine: it runs async callbacks one at a
// time, in the order their records arrived. Its name is looked for on the
// stack by inCallback.
//
//go:noinline
func (c *core) runCallbacks() {
	defer close(c.runnerDone)
	var spare []job
	for {
		c.cbMu.Lock()
		for len(c.cbQueue) == 0 && !c.cbClosed {
			c.cbCond.Wait()
		}
		if len(c.cbQueue) == 0 {
			c.cbMu.Unlock()
			return
		}
		jobs := c.cbQueue
		c.cbQueue = spare[:0]
		c.cbMu.Unlock()
		for i := range jobs {
			j := &jobs[i]
			switch {
			case j.p.write != nil:
				j.p.write(j.r.version, j.r.err)
			case j.p.txn != nil:
				j.p.txn(j.r.versions, j.r.err)
			case j.p.many != nil:
				j.p.many(j.r.snapshot, j.r.err)
			default:
				j.p.read(j.r.entry, j.r.err)
			}
			*j = job{}
			c.release()
		}
		spare = jobs
	}
}

var runnerFunc = runtime.FuncForPC(reflect.ValueOf((*core).runCallbacks).Pointer()).Name()

// inCallback reports whether the calling goroutine is running an async
// callback (of any client): Close must not wait for the callback goroutine
// then, as it would wait for itself. Go has no goroutine identity to compare,
// so it looks for runCallbacks on the stack (a few µs, on Close and Drain only);
// a callback that hands Close to another goroutine is not in one and waits.
func inCallback() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function == runnerFunc {
			return true
		}
		if !more {
			return false
		}
	}
}

// close closes the client once and returns when every op has been
// delivered (sync callers have their result, callbacks are queued).
// kvwb_client_close queues a record for every pending op (KVW_ECLOSED, or its
// real outcome if the reply was already in) before it returns and wakes the
// dispatcher, which delivers them and exits: kvwb_wait says KVW_ECLOSED only
// once the close has returned and its queue is empty. The closing goroutine
// then ends the callback goroutine. Concurrent callers wait in closeOnce.
func (c *core) close() {
	c.closeWith(func() int { return native.Kvwb_client_close(c.h) })
}

// closeWith closes once with shimClose (close or drain) and returns its
// status; 0 when the core was closed before.
func (c *core) closeWith(shimClose func() int) (rc int) {
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		rc = shimClose()
		<-c.dispatcherDone
		c.cbMu.Lock()
		c.cbClosed = true
		c.cbMu.Unlock()
		c.cbCond.Signal()
	})
	return rc
}

// decode turns a record into a result for op p.
func decode(rec native.Kvwb_completion, p pending) result {
	status := rec.GetStatus()
	var r result
	if p.kind.isRead() {
		if status == 0 {
			r.entry = Entry{
				Key:     p.key,
				Value:   rec.Value_bytes(),
				Version: versionOf(rec.GetRevision(), rec.GetVersion),
				Op:      EntryOp(rec.GetEntry_op()),
				TTL:     ttlFromMillis(rec.GetTtl_ms()),
			}
			if r.entry.Value == nil {
				r.entry.Value = []byte{}
			}
			return r
		}
	} else if status == 0 && p.kind == opGetMany {
		r.snapshot = decodeSnapshot(rec)
		return r
	} else if status == 0 {
		r.version = versionOf(rec.GetRevision(), rec.GetVersion)
		if p.kind == opTxn {
			first := uint64(rec.GetRevision())
			r.versions = make([]Version, rec.GetTxn_writes())
			for i := range r.versions {
				r.versions[i] = VersionFromRevision(first + uint64(i))
			}
		}
		return r
	}
	key := p.key
	if p.kind == opTxn { // the key whose expectation failed, when known
		key = rec.GetKey()
	}
	r.err = &Error{
		Code:        status,
		Op:          p.kind.String(),
		Key:         key,
		Message:     rec.GetMessage(),
		ServerError: rec.GetServer_error(),
		Version:     versionOf(rec.GetRevision(), rec.GetVersion),
	}
	return r
}

// decodeSnapshot reads a multi-key read's record and its entries.
func decodeSnapshot(rec native.Kvwb_completion) Snapshot {
	n := rec.GetEntry_count()
	s := Snapshot{AsOf: versionOf(rec.GetRevision(), rec.GetVersion), Entries: make([]Entry, n)}
	for i := int64(0); i < n; i++ {
		e := native.Kvwb_completion_entry(rec, i) // owned by rec
		s.Entries[i] = Entry{Key: e.GetKey(), Op: EntryNone}
		if e.GetStatus() == 0 {
			s.Entries[i] = Entry{
				Key:     e.GetKey(),
				Value:   e.Value_bytes(),
				Version: versionOf(e.GetRevision(), e.GetVersion),
				Op:      EntryOp(e.GetEntry_op()),
				TTL:     ttlFromMillis(e.GetTtl_ms()),
			}
			if s.Entries[i].Value == nil {
				s.Entries[i].Value = []byte{}
			}
		}
	}
	return s
}

// notifier wakes goroutines waiting for a window slot. notify is cheap when
// nobody waits.
type notifier struct {
	waiters atomic.Int32
	mu      sync.Mutex
	ch      chan struct{}
}

// wait returns a channel closed by the next notify; call done afterwards.
func (n *notifier) wait() <-chan struct{} {
	n.waiters.Add(1)
	n.mu.Lock()
	ch := n.ch
	n.mu.Unlock()
	return ch
}

func (n *notifier) done() { n.waiters.Add(-1) }

func (n *notifier) notify() {
	if n.waiters.Load() == 0 {
		return
	}
	n.mu.Lock()
	close(n.ch)
	n.ch = make(chan struct{})
	n.mu.Unlock()
}
