package loop

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Engine runs the event loops and owns the listeners and connections on
// them. Its methods are safe from any goroutine, except where one says it
// would block a loop.
type Engine struct {
	cfg     Config
	backend string // Config.Backend resolved: see Backend
	loops   []*eventLoop
	conns   atomic.Int64 // open connections over all loops

	reserved     atomic.Int64  // inbound room granted beyond MaxInbound (ReserveInbound)
	freed        atomic.Int64  // bytes dropped to the collector since the last scavenge: arrays the pool would not keep, the io_uring backend's buffers
	scavenged    atomic.Int64  // monotonic time of the last scavenge
	scavengeRuns atomic.Uint64 // scavenges started: each loop trims its backend once per run
	scavenges    sync.WaitGroup

	mu        sync.Mutex
	listeners map[*Listener]struct{}
	ports     map[int]bool // TCP ports held by this engine's listeners
	paused    []*listenFD  // listeners stopped at MaxConns
	anyPaused atomic.Bool

	closed       atomic.Bool
	lifeMu       sync.RWMutex // read-held by Bind, Serve and DialAsync from their closed check to their hand-off to a loop
	shutdownOnce sync.Once
	stopped      chan struct{} // closed when every loop has exited
}

// New starts an engine with cfg's loops running and nothing to serve yet.
// Add listeners with Listen or Bind, connections with Dial; stop it with
// Shutdown or Close.
func New(cfg Config) (*Engine, error) {
	e := &Engine{
		cfg:       cfg.withDefaults(),
		listeners: make(map[*Listener]struct{}),
		ports:     make(map[int]bool),
		stopped:   make(chan struct{}),
	}
	choice, err := chooseBackend(e.cfg.Backend)
	if err != nil {
		return nil, err
	}
	err = e.makeLoops(choice.name)
	if err != nil && choice.fallback && errors.Is(err, ErrBackendUnavailable) {
		e.cfg.Logger.Warn("loop: backend refused; falling back", "backend", choice.name, "to", readinessName, "err", err)
		err = e.makeLoops(readinessName)
	}
	if err != nil {
		return nil, err
	}
	e.cfg.Logger.Info("loop: engine started", "backend", e.backend, "loops", len(e.loops))
	for _, l := range e.loops {
		go l.run()
	}
	go func() {
		for _, l := range e.loops {
			<-l.done
		}
		close(e.stopped)
	}()
	return e, nil
}

// makeLoops makes the engine's loops on the named backend, or none.
func (e *Engine) makeLoops(name string) error {
	for i := 0; i < e.cfg.Loops; i++ {
		l, err := newEventLoop(e, i, name)
		if err != nil {
			for _, l := range e.loops {
				l.io.close()
			}
			e.loops = nil
			return err
		}
		e.loops = append(e.loops, l)
	}
	e.backend = name
	return nil
}

// Loops returns the number of event loops.
func (e *Engine) Loops() int { return len(e.loops) }

// Conns returns the number of open connections (accepted and dialled).
func (e *Engine) Conns() int { return int(e.conns.Load()) }

// pickLoop returns the loop with the fewest connections.
func (e *Engine) pickLoop() *eventLoop {
	best := e.loops[0]
	for _, l := range e.loops[1:] {
		if l.conns.Load() < best.conns.Load() {
			best = l
		}
	}
	return best
}

// atCapacity reports whether MaxConns connections are open.
func (e *Engine) atCapacity() bool {
	return e.cfg.MaxConns > 0 && e.conns.Load() >= int64(e.cfg.MaxConns)
}

// pauseListener records a listener stopped at MaxConns; lf.mu is held.
func (e *Engine) pauseListener(lf *listenFD) {
	e.mu.Lock()
	e.paused = append(e.paused, lf)
	e.anyPaused.Store(true)
	e.mu.Unlock()
}

// connClosed is called by a loop for every connection it closes; below
// MaxConns it resumes the listeners that stopped at the cap.
func (e *Engine) connClosed() {
	e.conns.Add(-1)
	if !e.anyPaused.Load() || e.atCapacity() {
		return
	}
	e.resumePaused()
}

// resumePaused re-watches every listener stopped at MaxConns.
func (e *Engine) resumePaused() {
	e.mu.Lock()
	paused := e.paused
	e.paused = nil
	e.anyPaused.Store(false)
	e.mu.Unlock()
	for _, lf := range paused {
		lf.loop.submit(task{kind: taskFunc, fn: func() {
			lf.mu.Lock()
			lf.watch()
			lf.mu.Unlock()
		}})
	}
}

// Shutdown stops the engine gracefully: listeners close, then every
// connection is closed as by Conn.Close (OnClose runs with ErrShutdown and
// output written before or during it is sent), and the loops exit when
// their connections are gone. When ctx ends first, the connections left are
// closed at once and Shutdown returns ctx.Err() after the loops exit. Once
// Shutdown returns, every descriptor and goroutine of the engine is gone.
// Never call it on a loop goroutine.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.shutdownOnce.Do(func() {
		e.lifeMu.Lock()
		e.closed.Store(true)
		e.lifeMu.Unlock()
		e.mu.Lock()
		lns := make([]*Listener, 0, len(e.listeners))
		for ln := range e.listeners {
			lns = append(lns, ln)
		}
		e.mu.Unlock()
		for _, ln := range lns {
			ln.Close()
		}
		for _, l := range e.loops {
			l.submit(task{kind: taskFunc, fn: l.stop})
		}
	})
	select {
	case <-e.stopped:
		e.scavenges.Wait()
		return nil
	case <-ctx.Done():
	}
	for _, l := range e.loops {
		l.submit(task{kind: taskFunc, fn: l.abort})
	}
	<-e.stopped
	e.scavenges.Wait()
	return ctx.Err()
}

// Close stops the engine at once: Shutdown with no grace period.
func (e *Engine) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Shutdown(ctx)
	if err == context.Canceled {
		err = nil
	}
	return err
}
