package proto

import (
	"strings"
	"testing"
)

// benchServe serves req on one stream b.N times, checking the reply once.
func benchServe(b *testing.B, srv Server, req, reply string) {
	m := &memStream{in: make([]byte, 0, len(req)), out: make([]byte, 0, 2*len(reply)+64)}
	ss := srv.NewSession()
	in := []byte(req)
	m.feed(in)
	if err := ss.Serve(m); err != nil || string(m.out) != reply {
		b.Fatalf("reply %q, %v; want %q", m.out, err, reply)
	}
	b.SetBytes(int64(len(req)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.in = append(m.in[:0], in...)
		m.out = m.out[:0]
		if err := ss.Serve(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRESP(b *testing.B) {
	val := strings.Repeat("v", 16)
	srv := NewRESP(Config{})
	serveAll(srv, arr("SET", "key:1", val))
	b.Run("op=ping", func(b *testing.B) { benchServe(b, srv, arr("PING"), "+PONG\r\n") })
	b.Run("op=ping-inline", func(b *testing.B) { benchServe(b, srv, "PING\r\n", "+PONG\r\n") })
	b.Run("op=get", func(b *testing.B) { benchServe(b, srv, arr("GET", "key:1"), "$16\r\n"+val+"\r\n") })
	b.Run("op=set-overwrite", func(b *testing.B) { benchServe(b, srv, arr("SET", "key:1", val), "+OK\r\n") })
	b.Run("op=incr", func(b *testing.B) { benchServe(b, srv, arr("SET", "n", "0")+arr("INCR", "n"), "+OK\r\n:1\r\n") })
	b.Run("op=ping/depth=16", func(b *testing.B) {
		benchServe(b, srv, strings.Repeat(arr("PING"), 16), strings.Repeat("+PONG\r\n", 16))
	})
	b.Run("op=get/depth=16", func(b *testing.B) {
		benchServe(b, srv, strings.Repeat(arr("GET", "key:1"), 16), strings.Repeat("$16\r\n"+val+"\r\n", 16))
	})
}

func BenchmarkEcho(b *testing.B) {
	msg := string(AppendPattern(nil, 1, 1, 16))
	benchServe(b, Echo{}, msg, msg)
}

// BenchmarkClient is the load generator's per-message codec work: encode a
// request, then find and verify its reply.
func BenchmarkClient(b *testing.B) {
	for _, c := range []struct {
		name, proto string
		cfg         ClientConfig
		srv         Server
	}{
		{"proto=echo/size=16", "echo", ClientConfig{Size: 16, Verify: true}, Echo{}},
		{"proto=echo/size=65536", "echo", ClientConfig{Size: 64 << 10, Verify: true}, Echo{}},
		{"proto=resp/op=ping", "resp", ClientConfig{Op: "ping", Verify: true}, NewRESP(Config{})},
		{"proto=resp/op=setget", "resp", ClientConfig{Op: "setget", Size: 16, Keys: 10, Verify: true}, NewRESP(Config{})},
	} {
		b.Run(c.name, func(b *testing.B) {
			cl, err := NewClient(c.proto, c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			// Replies are made by the server outside the timed part: record a
			// window of them, then replay it. The window is sent twice and the
			// second replies kept: for setget they expect the state the window
			// itself leaves behind, so they verify on every replay.
			const window = 1024
			m := &memStream{}
			ss := c.srv.NewSession()
			var reqs, replies []byte
			for range 2 {
				reqs = reqs[:0]
				for seq := range uint64(window) {
					reqs = cl.AppendRequest(reqs, seq)
				}
				m.feed(reqs)
				if err := ss.Serve(m); err != nil {
					b.Fatal(err)
				}
				replies = m.takeOut()
				for buf := replies; len(buf) > 0; {
					n, _, err := cl.ParseReply(buf)
					if err != nil {
						b.Fatal(err)
					}
					buf = buf[n:]
				}
			}
			req := make([]byte, 0, len(reqs))
			b.ReportAllocs()
			b.ResetTimer()
			var buf []byte
			for i := 0; b.Loop(); i++ {
				if i%window == 0 {
					buf = replies
				}
				// Same seqs again: for setget the op and key are the same, so
				// the recorded replies still verify.
				req = cl.AppendRequest(req[:0], uint64(i%window))
				n, ok, err := cl.ParseReply(buf)
				if err != nil || !ok {
					b.Fatalf("reply %d: %v %v", i, ok, err)
				}
				buf = buf[n:]
			}
		})
	}
}

// BenchmarkAMFEcho is amf-echo's per-object work: scan, decode, encode
// again, for the load generator's object {body, conn, seq} with a 64-byte
// body (seq past 255, so that its integer is boxed as in a long run).
func BenchmarkAMFEcho(b *testing.B) {
	req := string(appendAMFRequest(nil, 3, 1000, 64))
	b.Run("depth=1", func(b *testing.B) { benchServe(b, AMFEcho{}, req, req) })
	b.Run("depth=16", func(b *testing.B) {
		benchServe(b, AMFEcho{}, strings.Repeat(req, 16), strings.Repeat(req, 16))
	})
}
