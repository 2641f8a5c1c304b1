package proto

import "strconv"

// Config bounds what a RESP server accepts from a client. A zero field takes
// its default. A request over a bound is a protocol error, so a client
// cannot make the server buffer without limit.
type Config struct {
	MaxBulk   int // largest bulk string, bytes; default 512 MiB
	MaxArgs   int // most arguments after the command name in a request array; default 1M
	MaxInline int // longest inline command line, bytes; default 64 KiB
}

// Defaults of Config, as in Redis.
const (
	DefaultMaxBulk   = 512 << 20
	DefaultMaxArgs   = 1 << 20
	DefaultMaxInline = 64 << 10
)

func (c Config) withDefaults() Config {
	if c.MaxBulk <= 0 {
		c.MaxBulk = DefaultMaxBulk
	}
	if c.MaxArgs <= 0 {
		c.MaxArgs = DefaultMaxArgs
	}
	if c.MaxInline <= 0 {
		c.MaxInline = DefaultMaxInline
	}
	return c
}

// RESP is a small Redis-compatible server: PING, ECHO, SET, GET, DEL,
// EXISTS, INCR, COMMAND, CONFIG GET, CLIENT (INFO, LIST, ID, GETNAME,
// SETNAME) and QUIT, in RESP arrays or as inline
// commands (space-separated, without quoting), pipelined. Its keyspace is
// shared by all connections it serves.
type RESP struct {
	cfg   Config
	store *store
}

// NewRESP returns a RESP server with an empty keyspace. It may be called
// from any goroutine.
func NewRESP(cfg Config) *RESP {
	return &RESP{cfg: cfg.withDefaults(), store: newStore()}
}

// growRoom is the least a reservation grows by: one full read.
const growRoom = 64 << 10

// NewSession returns the state of one connection's requests. It may be
// called from any goroutine; the session belongs to its connection's.
func (r *RESP) NewSession() Session { return &respSession{r: r} }

// respSession is one connection's RESP state: how far the parser got into
// a partial request at the start of the input, so that the next Serve goes
// on from there instead of re-scanning it.
type respSession struct {
	r     *RESP
	p     progress
	steps int    // bytes the parser examined over the session's life (tests)
	id    uint64 // CLIENT ID, given at the first CLIENT command
	name  string // CLIENT SETNAME
}

// Serve executes the complete requests buffered in s and writes the
// replies in order. It stops early, leaving the rest buffered, when s is
// not Writable; a partial request stays buffered and its scan position is
// kept. A request larger than the stream holds by default gets room
// reserved for it (InboundReserver); if there is none, the client gets an
// error reply and Serve returns ErrNoRoom. A malformed request gets "-ERR
// Protocol error: ..." and a *ProtocolError; QUIT gets "+OK" and ErrQuit.
func (ss *respSession) Serve(s Stream) error {
	buffered := s.InboundBuffered()
	if buffered == 0 {
		return nil
	}
	in, err := s.Peek(buffered)
	if err != nil {
		return err
	}
	w := getReplyWriter(s)
	defer putReplyWriter(w)

	off := 0
	partial := false
	var req request
	for off < len(in) && w.err == nil {
		if w.flushed {
			w.flushed = false
			if !s.Writable() {
				break // the rest waits for the output to drain
			}
		}
		n, err := ss.r.cfg.scan(in[off:], &req, &ss.p, &ss.steps)
		if err != nil {
			ss.p = progress{}
			w.errorLine("Protocol error: ", err.(*ProtocolError).Reason)
			w.flush()
			return err
		}
		if n == 0 {
			partial = true
			break // partial request: wait for the rest
		}
		off += n
		if req.argc == 0 {
			continue // empty line or "*0": nothing to do, as in Redis
		}
		if ss.r.exec(w, &req, ss) {
			w.flush()
			if w.err != nil {
				return w.err
			}
			return ErrQuit
		}
		w.flushIfFull()
	}
	w.flush()
	if w.err != nil {
		return w.err
	}
	if off > 0 { // Discard(0) would drop everything
		if _, err := s.Discard(off); err != nil {
			return err
		}
	}
	if partial {
		return ss.makeRoom(s, w, len(in)-off)
	}
	return nil
}

// makeRoom asks a bounded stream for room for the partial request, which
// is all that is buffered (the requests before it are discarded), as its
// bytes arrive: up to twice what it holds (at least growRoom more), never
// more than the request needs once its size is known. So a large request
// costs a few reservations and full-size reads, and a client that only
// announces a large request reserves next to nothing.
func (ss *respSession) makeRoom(s Stream, w *replyWriter, held int) error {
	rs, ok := s.(InboundReserver)
	if !ok {
		return nil
	}
	want := max(2*held, held+growRoom)
	if !ss.p.more {
		want = min(want, ss.p.need)
	}
	if rs.ReserveInbound(want) == nil {
		return nil
	}
	ss.p = progress{}
	w.errorLine("request too large for the server's free buffer space (", strconv.Itoa(want), " bytes); try again later")
	w.flush()
	return ErrNoRoom
}
