package loop

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/airsock/airsock/poller"
)

// fdHandler is what a loop finds in its fd-indexed table: a connection or a
// listening socket.
type fdHandler interface {
	ready(m poller.Mask)
}

// eventLoop is one reactor: a poller, the descriptors registered with it, and
// the goroutine that waits on it and runs every callback of those descriptors.
type eventLoop struct {
	index   int
	engine  *Engine
	cfg     *Config
	io      backend     // readiness (below) or completion (uring_linux.go): backend.go
	fds     []fdHandler // indexed by descriptor
	readBuf []byte      // shared by every connection: see Conn.Peek
	win     []byte      // the input OnData is given: readBuf's, or the backend's memory
	plain   []byte      // TLS plaintext, the window of a TLS connection's read (tls_io.go); made on first use

	// stage holds the output of stageOwner written during a callback, so
	// the common reply leaves in one write(2) with no per-connection buffer.
	stage      []byte
	stageOwner *Conn
	dirty      []*Conn // connections written outside their own callback
	current    *Conn   // whose callback is running; see callOpen

	timers   timerHeap
	tasks    taskQueue
	sleeping atomic.Bool  // in a blocking wait: producers must wake it
	conns    atomic.Int32 // registered connections, read by other goroutines to balance load
	now      int64        // monotonic time at the start of this iteration

	pk           *packetBatch // datagram memory, made for the first packet socket (packet_io.go)
	packetsDirty bool         // datagrams staged or refusals noted outside a batch: the turn's end sends and tells them
	pkErrs       []packetErr  // refusals to tell OnError (packet_send.go)
	pkDrops      []*PacketConn
	reporting    bool // reportPacketErrors is running

	listeners []*listenFD  // listening sockets this loop accepts on
	thread    atomic.Int32 // the OS thread of the loop goroutine, when the backend owns one
	stopping  bool         // Shutdown: exit once every connection has closed
	done      chan struct{}

	trimmed atomic.Uint64 // the engine's scavengeRuns when this loop last trimmed its backend; written by the loop, read by tests

	counters loopCounters // Metrics: last, away from what other goroutines write
}

func newEventLoop(e *Engine, index int, backendName string) (*eventLoop, error) {
	io, err := newBackend(backendName, &e.freed)
	if err != nil {
		return nil, err
	}
	l := &eventLoop{
		io:      io,
		index:   index,
		engine:  e,
		cfg:     &e.cfg,
		fds:     make([]fdHandler, 1024),
		readBuf: make([]byte, e.cfg.ReadBufferSize),
		stage:   make([]byte, 0, e.cfg.ReadBufferSize),
		done:    make(chan struct{}),
	}
	l.tasks.limit = e.cfg.AsyncQueueBytes
	l.counters.started = now()
	l.counters.turnStart.Store(l.counters.started)
	return l, nil
}

// onLoopThread reports whether the caller is one of e's loop goroutines,
// when the backend owns their threads (a locked thread runs only its
// goroutine, so its id tells).
func (e *Engine) onLoopThread() bool {
	if e.loops[0].thread.Load() == 0 {
		return false
	}
	tid := int32(threadID())
	for _, l := range e.loops {
		if l.thread.Load() == tid {
			return true
		}
	}
	return false
}

// run is the loop: wait for readiness, serve each ready descriptor, then the
// queued tasks, the due timers, and the output of connections touched from
// elsewhere. Everything a connection does happens here, on one goroutine.
func (l *eventLoop) run() {
	defer close(l.done)
	if l.cfg.LockOSThread || l.io.ownsThread() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	if l.io.ownsThread() {
		l.thread.Store(int32(threadID()))
		defer l.thread.Store(0) // the thread may run other goroutines once unlocked
	}
	if err := l.io.bind(); err != nil {
		// The backend cannot serve from this goroutine (it could when New
		// made it): nothing this loop is given will be served, so say so.
		l.cfg.Logger.Error("loop: backend cannot start on the loop goroutine", "loop", l.index, "err", err)
	}
	busy := false
	for !l.finished() {
		events, err := l.wait(busy)
		busy = len(events) > 0
		if err != nil {
			l.cfg.Logger.Error("loop: backend wait failed", "loop", l.index, "err", err)
			time.Sleep(10 * time.Millisecond) // never spin on a broken poller
			continue
		}
		if len(l.timers) > 0 || l.cfg.IdleTimeout > 0 {
			l.now = now()
		}
		for _, ev := range events {
			if ev.Fd < len(l.fds) { // l.fds may grow in the batch (accept): index it afresh
				if h := l.fds[ev.Fd]; h != nil {
					h.ready(ev.Mask)
				}
			}
		}
		l.runTasks()
		if len(l.timers) > 0 {
			l.timers.fire(now())
		}
		l.flushDirty()
		for i := 0; l.packetsDirty && i < 4; i++ { // a handler may write again from OnError
			l.flushPackets()
		}
	}
	l.counters.stop(now())
	l.release()
}

// wait returns the next batch of ready descriptors. After a busy batch it
// only polls: under load the next events are usually there already, and a
// non-blocking poll costs far less than a sleep and a wake-up. Otherwise it
// sleeps until the nearest timer, or a task, or I/O.
func (l *eventLoop) wait(busy bool) ([]poller.Event, error) {
	// A completion backend's blocking wait returns at once when something
	// completed, so its empty polls would be syscalls for nothing.
	if busy && !l.io.ownsThread() {
		events, err := l.waitIO(0)
		if len(events) == 0 {
			runtime.Gosched() // let the goroutines our output woke run first
		}
		return events, err
	}
	if runs := l.engine.scavengeRuns.Load(); runs != l.trimmed.Load() {
		l.trimmed.Store(runs) // another loop started a scavenge: trim for the next
		l.io.trim()
	}
	timeout := l.engine.maybeScavenge(l)
	if len(l.timers) > 0 {
		if d := l.timers.wait(now()); timeout < 0 || d < timeout {
			timeout = d
		}
	}
	// Publish that we may sleep before checking the queue, so that a
	// producer either sees sleeping and wakes us, or we see its task.
	l.sleeping.Store(true)
	if l.tasks.pending.Load() > 0 || l.packetsDirty {
		timeout = 0
	}
	events, err := l.waitIO(timeout)
	l.sleeping.Store(false)
	return events, err
}

// waitIO is the backend's wait, timed for Metrics' Busy.
func (l *eventLoop) waitIO(timeout time.Duration) ([]poller.Event, error) {
	l.counters.beginWait(now())
	events, err := l.io.wait(timeout)
	l.counters.endWait(now())
	return events, err
}

// finished reports whether a stopping loop has nothing left to serve.
func (l *eventLoop) finished() bool {
	return l.stopping && l.conns.Load() == 0
}

// submit queues t for the loop from any goroutine and wakes the loop if it
// sleeps. It reports false when the queue refused the task (ErrQueueFull).
func (l *eventLoop) submit(t task) bool {
	if !l.tasks.push(t) {
		return false
	}
	l.wakeIfSleeping()
	return true
}

// wakeIfSleeping wakes the loop from a blocking wait; any goroutine.
func (l *eventLoop) wakeIfSleeping() {
	if l.sleeping.Load() {
		if err := l.io.wake(); err != nil {
			l.cfg.Logger.Error("loop: wake failed", "loop", l.index, "err", err)
		}
	}
}

// runTasks runs what other goroutines queued, in order.
func (l *eventLoop) runTasks() {
	batch := l.tasks.take()
	for i := range batch {
		t := &batch[i]
		switch t.kind {
		case taskFunc:
			t.fn()
		case taskConnFunc:
			if t.c.state == stateOpen {
				l.runFunc(t.c, t.cfn)
			}
		case taskWrite:
			if t.c.state <= stateClosing && !t.c.writeClosed {
				if t.c.isTLS() && !t.c.ext.tls.handshaking {
					l.writeTLS(t.c, t.data)
				} else { // plain, or a handshake's flight
					l.queueOutput(t.c, t.data, false)
				}
			}
			releaseCopy(t.data)
		case taskClose:
			l.closeConn(t.c, nil, false)
		case taskRegister:
			l.register(t.c)
		case taskPacket:
			l.writeQueued(t.pc, t.data, t.to)
		}
		*t = task{}
	}
}

// register adopts a connection whose descriptor is open and non-blocking.
func (l *eventLoop) register(c *Conn) {
	if l.stopping {
		c.closeWhy = CloseShutdown
		l.closeFd(c)
		return
	}
	for int(c.fd) >= len(l.fds) {
		l.fds = append(l.fds, make([]fdHandler, len(l.fds))...)
	}
	l.fds[int(c.fd)] = c
	if c.state == stateConnecting {
		l.setInterest(c, poller.Writable)
		return
	}
	l.open(c)
}

// open makes c readable and tells its handler.
func (l *eventLoop) open(c *Conn) {
	c.state = stateOpen
	if c.family != unix.AF_UNIX && c.laddr == (sockAddr{}) {
		c.laddr = sockAddrOf(sockaddrOf(int(c.fd)))
	}
	l.setInterest(c, poller.Readable)
	l.startIdle(c)
	if l.startProxy(c) {
		return // greet once the header is in (proxy.go)
	}
	l.greet(c)
}

// greet tells c's handler: OnOpen, or the TLS handshake, after which
// OnOpen runs (handshakeDone).
func (l *eventLoop) greet(c *Conn) {
	if c.isTLS() {
		l.startHandshake(c)
		return
	}
	l.callOpen(c)
	l.flush(c)
	l.resumeData(c)
}

// setInterest changes what the poller watches on c. A connection watched
// for nothing is removed from the poller, so that a hang-up, which the
// kernel always reports, cannot spin a loop that has paused the connection.
func (l *eventLoop) setInterest(c *Conn, m poller.Mask) {
	old := c.interest
	if old == m || c.state == stateClosed {
		return
	}
	watch := l.io.watch
	if c.state == stateConnecting {
		watch = l.io.poll // the loop makes the connect's syscalls itself
	}
	if err := watch(int(c.fd), old, m); err != nil {
		l.closeConn(c, err, true)
		return
	}
	c.interest = m
}

// flushDirty sends the output of connections written from outside their own
// callbacks (broadcasts, tasks, timers).
func (l *eventLoop) flushDirty() {
	for i := 0; i < len(l.dirty); i++ { // flush may dirty more (OnOutput writes)
		c := l.dirty[i]
		c.dirty = false
		l.dirty[i] = nil
		if c.state != stateClosed {
			l.flush(c)
			l.resumeData(c)
		}
	}
	l.dirty = l.dirty[:0]
}

// release frees the loop's resources once it has stopped.
func (l *eventLoop) release() {
	for _, ln := range l.listeners {
		ln.closeFD()
	}
	l.listeners = nil
	l.io.close()
	l.releasePackets()
}

// readiness is the backend over the OS's readiness poller (epoll or
// kqueue): the loop makes the syscalls itself when a socket is ready.
var _ backend = (*readiness)(nil)

type readiness struct {
	poller *poller.Poller
	events []poller.Event
	calls  counter // the syscalls of the loop goroutine's calls (not poll's, which any goroutine makes)
	sent   counter // bytes the kernel took from write
}

// syscalls returns how many syscalls the loop goroutine made through r:
// each wait, read, write (a BSD two-part write may take two), accept,
// interest change and close. Any goroutine.
func (r *readiness) syscalls() uint64 { return r.calls.load() }

func (r *readiness) bytesSent() uint64 { return r.sent.load() }

func newReadiness() (*readiness, error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	return &readiness{poller: p, events: make([]poller.Event, 128)}, nil
}

func (r *readiness) trim()            {} // what it writes is the kernel's, what it reads the pool's
func (r *readiness) ownsThread() bool { return false }
func (r *readiness) pollApart() bool  { return false }
func (r *readiness) bind() error      { return nil }

func (r *readiness) wait(timeout time.Duration) ([]poller.Event, error) {
	r.calls.inc()
	n, err := r.poller.Wait(r.events, timeout)
	events := r.events[:n]
	if n == len(r.events) && n < 4096 {
		r.events = make([]poller.Event, 2*n) // the next batch may be larger
	}
	return events, err
}

func (r *readiness) wake() error { return r.poller.Wake() }

func (r *readiness) poll(fd int, old, want poller.Mask) error {
	return pollerWatch(r.poller, fd, old, want)
}

func (r *readiness) watch(fd int, old, want poller.Mask) error {
	r.calls.inc()
	return pollerWatch(r.poller, fd, old, want)
}

// pollerWatch changes fd's interest on p from old to want, as backend.watch
// does: old 0 adds, want 0 deletes.
func pollerWatch(p *poller.Poller, fd int, old, want poller.Mask) error {
	switch {
	case old == 0:
		return p.Add(fd, want)
	case want == 0:
		return p.Delete(fd, old)
	}
	return p.Modify(fd, old, want)
}

func (r *readiness) read(fd int, a, b []byte) (int, error) {
	r.calls.inc()
	return sysReadv(fd, a, b)
}

func (r *readiness) input(fd int, buf []byte) ([]byte, error) {
	r.calls.inc()
	n, err := sysReadv(fd, buf, nil)
	return buf[:n], err
}

func (r *readiness) write(fd int, a, b []byte) (int, error) {
	r.calls.inc()
	n, err := sysWritev(fd, a, b)
	if n > 0 {
		r.sent.add(uint64(n))
	}
	return n, err
}

func (r *readiness) listen(lf *listenFD, on bool) error { return pollListener(r.poller, lf, on) }

func (r *readiness) accept(lf *listenFD) (int, int, sockAddr, error) {
	r.calls.inc()
	return sysAccept(lf.fd)
}
func (r *readiness) unlisten(lf *listenFD) <-chan struct{} { return unpollListener(r.poller, lf) }

// pollListener starts (on) or stops watching listening descriptor lf on
// p, for accept4 when it is readable: readiness's way, and io_uring's for
// the listeners it leaves to its epoll instance.
func pollListener(p *poller.Poller, lf *listenFD, on bool) error {
	if on {
		return pollerWatch(p, lf.fd, 0, poller.Readable)
	}
	return pollerWatch(p, lf.fd, poller.Readable, 0)
}

// unpollListener stops watching lf before its descriptor closes; nothing
// holds the socket after that.
func unpollListener(p *poller.Poller, lf *listenFD) <-chan struct{} {
	if lf.watched {
		pollerWatch(p, lf.fd, poller.Readable, 0)
	}
	return nil
}

func (r *readiness) watchPacket(fd int, old, want poller.Mask) error {
	return r.watch(fd, old, want)
}
func (r *readiness) packetAgain(int) {} // level-triggered: reported while data waits
func (r *readiness) closePacket(fd int, watched poller.Mask) error {
	if watched != 0 {
		r.watch(fd, watched, 0)
	}
	return unix.Close(fd)
}
func (r *readiness) forget(*listenFD)                   {}
func (r *readiness) held(int) (int, int)                { return 0, 0 }
func (r *readiness) canWrite(_ int, watching bool) bool { return !watching }
func (r *readiness) failure(int) error                  { return nil }
func (r *readiness) closeFd(fd int) error {
	r.calls.inc()
	return unix.Close(fd)
}
func (r *readiness) close() error { return r.poller.Close() }
