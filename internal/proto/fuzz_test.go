package proto

import (
	"errors"
	"testing"
)

// fuzzConfig has small limits so that the fuzzer reaches them.
var fuzzConfig = Config{MaxBulk: 64, MaxArgs: 8, MaxInline: 128}

// maxPartial is the most a connection can have buffered after a Serve that
// did not fail: one partial request, whose size the limits bound.
func maxPartial(c Config) int {
	elem := maxHeaderLine + 1 + c.MaxBulk + 2
	return max(maxHeaderLine+1+(c.MaxArgs+1)*elem, c.MaxInline)
}

// FuzzRESP feeds arbitrary bytes, whole and split at arbitrary points, to
// two servers: neither may panic, both must give identical replies and
// errors, and no more than one partial request's worth of bytes, bounded
// by the limits, may stay buffered.
func FuzzRESP(f *testing.F) {
	for _, s := range []string{
		arr("PING"), arr("SET", "k", "v") + arr("GET", "k"), "PING\r\nECHO x\n",
		arr("INCR", "n") + arr("INCR", "n") + arr("DEL", "n", "m"),
		"*1\r\n$4\r\nPI", "*2\r\n$3\r\nGET\r\n$65\r\n", "*9\r\n", "*1\r\n$-1\r\n",
		arr("CONFIG", "GET", "save") + arr("COMMAND") + arr("QUIT") + arr("PING"),
		"*1\r\n$4\r\nPING\n\r", "\r\n\r\n*0\r\n", arr("FOO", "a\r\nb"),
	} {
		f.Add([]byte(s), uint64(len(s)*7919))
	}
	bound := maxPartial(fuzzConfig)
	f.Fuzz(func(t *testing.T, data []byte, cutSeed uint64) {
		whole := &memStream{}
		whole.feed(data)
		wantErr := NewRESP(fuzzConfig).NewSession().Serve(whole)
		if wantErr == nil && whole.InboundBuffered() > bound {
			t.Fatalf("whole: %d bytes left buffered, bound %d", whole.InboundBuffered(), bound)
		}

		srv := NewRESP(fuzzConfig).NewSession()
		pieces := &memStream{}
		var out []byte
		var gotErr error
		x := cutSeed
		for off := 0; off < len(data) && gotErr == nil; {
			x = mix64(x + golden)
			k := min(len(data)-off, 1+int(x%uint64(len(data)+1)))
			pieces.feed(data[off : off+k])
			off += k
			gotErr = srv.Serve(pieces)
			out = append(out, pieces.takeOut()...)
			if gotErr == nil && pieces.InboundBuffered() > bound {
				t.Fatalf("pieces: %d bytes left buffered, bound %d", pieces.InboundBuffered(), bound)
			}
		}
		if string(out) != string(whole.out) {
			t.Fatalf("replies differ:\nwhole  %q\npieces %q", whole.out, out)
		}
		if !sameErr(wantErr, gotErr) {
			t.Fatalf("errors differ: whole %v, pieces %v", wantErr, gotErr)
		}
	})
}

func sameErr(a, b error) bool {
	var pa, pb *ProtocolError
	switch {
	case errors.As(a, &pa) && errors.As(b, &pb):
		return pa.Reason == pb.Reason
	default:
		return a == b
	}
}
