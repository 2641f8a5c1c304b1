package proto

// Config bounds what a RESP server accepts from a client. A zero field takes
// its default. A request over a bound is a protocol error, so a client
// cannot make the server buffer without limit.
type Config struct {
	MaxBulk   int // largest bulk string, bytes; default 512 MiB
	MaxArgs   int // most elements in a request array; default 1M
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
// EXISTS, INCR, COMMAND, CONFIG GET and QUIT, in RESP arrays or as inline
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

// Serve executes every complete request buffered in s and writes the
// replies in order, leaving a partial request buffered. A malformed request
// gets "-ERR Protocol error: ..." and a *ProtocolError; QUIT gets "+OK" and
// ErrQuit. Serve may run concurrently on different streams.
func (r *RESP) Serve(s Stream) error {
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
	var req request
	for off < len(in) && w.err == nil {
		n, err := r.cfg.scan(in[off:], &req)
		if err != nil {
			w.errorLine("Protocol error: ", err.(*ProtocolError).Reason)
			w.flush()
			return err
		}
		if n == 0 {
			break // partial request: wait for the rest
		}
		off += n
		if req.argc == 0 {
			continue // empty line or "*0": nothing to do, as in Redis
		}
		if r.exec(w, &req) {
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
		_, err = s.Discard(off)
	}
	return err
}
