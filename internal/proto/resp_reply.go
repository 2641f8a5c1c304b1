package proto

import (
	"strconv"
	"sync"
)

const (
	// flushAt is how much reply data is gathered before it is handed to the
	// stream; one Write per batch instead of one per reply.
	flushAt = 32 << 10
	// directBulk is the value size from which a bulk reply skips the
	// scratch buffer and is written to the stream directly, so that huge
	// values do not grow pooled scratch buffers.
	directBulk = 16 << 10
	// maxPooled bounds the scratch buffers kept for reuse.
	maxPooled = 256 << 10
)

// Replies that never change, sent without formatting.
var (
	replyPong     = []byte("+PONG\r\n")
	replyOK       = []byte("+OK\r\n")
	replyNil      = []byte("$-1\r\n")
	replyEmpty    = []byte("*0\r\n")
	replySyntax   = []byte("-ERR syntax error\r\n")
	replyNotInt   = []byte("-ERR value is not an integer or out of range\r\n")
	replyOverflow = []byte("-ERR increment or decrement would overflow\r\n")
)

// replyWriter gathers one Serve call's replies. It is pooled rather than
// kept per session so that an idle connection holds no reply buffer; a
// buffer handed to Stream.Write (an interface call) escapes, so a fresh one
// per call would be an allocation.
type replyWriter struct {
	s   Stream
	buf []byte
	err error // first write error; later writes are dropped
	// flushed is set when replies were handed to the stream, which is when
	// Serve looks at whether the stream is still Writable.
	flushed bool
}

var replyPool = sync.Pool{New: func() any { return &replyWriter{buf: make([]byte, 0, 4096)} }}

func getReplyWriter(s Stream) *replyWriter {
	w := replyPool.Get().(*replyWriter)
	w.s = s
	return w
}

func putReplyWriter(w *replyWriter) {
	w.s, w.err, w.flushed = nil, nil, false
	if cap(w.buf) > maxPooled {
		return
	}
	w.buf = w.buf[:0]
	replyPool.Put(w)
}

func (w *replyWriter) raw(p []byte) { w.buf = append(w.buf, p...) }

func (w *replyWriter) bulk(p []byte) {
	w.buf = append(w.buf, '$')
	w.buf = strconv.AppendInt(w.buf, int64(len(p)), 10)
	w.buf = append(w.buf, '\r', '\n')
	if len(p) >= directBulk {
		w.flush()
		w.write(p)
	} else {
		w.buf = append(w.buf, p...)
	}
	w.buf = append(w.buf, '\r', '\n')
}

func (w *replyWriter) integer(n int64) {
	w.buf = append(w.buf, ':')
	w.buf = strconv.AppendInt(w.buf, n, 10)
	w.buf = append(w.buf, '\r', '\n')
}

// errorLine writes "-ERR " + the parts + CRLF.
func (w *replyWriter) errorLine(parts ...string) {
	w.buf = append(w.buf, "-ERR "...)
	for _, p := range parts {
		w.buf = appendOneLine(w.buf, p)
	}
	w.buf = append(w.buf, '\r', '\n')
}

// appendOneLine appends p with CR and LF turned into spaces: p may be
// client bytes quoted in an error reply, which must stay one line.
func appendOneLine[T string | []byte](dst []byte, p T) []byte {
	for i := range len(p) {
		c := p[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// flushIfFull hands the gathered replies over once there are enough.
func (w *replyWriter) flushIfFull() {
	if len(w.buf) >= flushAt {
		w.flush()
	}
}

func (w *replyWriter) flush() {
	if len(w.buf) > 0 {
		w.write(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *replyWriter) write(p []byte) {
	if w.err == nil {
		_, w.err = w.s.Write(p)
		w.flushed = true
	}
}
