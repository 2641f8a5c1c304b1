package proto

import (
	"errors"
	"testing"
)

// roundTrip sends n requests from cl to srv, depth at a time, and parses
// every reply, fed to the codec in pieces of at most chunk bytes.
func roundTrip(t *testing.T, srv Server, cl Client, n, depth, chunk int) {
	t.Helper()
	m := &memStream{}
	ss := srv.NewSession()
	var seq uint64
	var pending, got []byte
	done := 0
	for done < n {
		var req []byte
		for range min(depth, n-int(seq)) {
			req = cl.AppendRequest(req, seq)
			seq++
		}
		m.feed(req)
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, m.takeOut()...)
		for len(pending) > 0 {
			k := min(chunk, len(pending))
			got, pending = append(got, pending[:k]...), pending[k:]
			for {
				rn, ok, err := cl.ParseReply(got)
				if err != nil {
					t.Fatalf("reply %d: %v", done, err)
				}
				if !ok {
					break
				}
				got = got[rn:]
				done++
			}
		}
		if done != int(seq) {
			t.Fatalf("%d requests sent, %d replies parsed", seq, done)
		}
	}
	if len(got) != 0 {
		t.Fatalf("%d reply bytes left over", len(got))
	}
	if _, ok, err := cl.ParseReply(nil); ok || err != nil {
		t.Fatalf("ParseReply(nil) = %v, %v", ok, err)
	}
}

func TestClientsRoundTrip(t *testing.T) {
	resp := NewRESP(Config{})
	cases := []struct {
		name  string
		srv   Server
		proto string
		cfg   ClientConfig
	}{
		{"echo/1", Echo{}, "echo", ClientConfig{Conn: 1, Size: 1}},
		{"echo/100", Echo{}, "echo", ClientConfig{Conn: 2, Size: 100}},
		{"resp/ping", resp, "resp", ClientConfig{Conn: 3, Op: "ping"}},
		{"resp/set", resp, "resp", ClientConfig{Conn: 4, Op: "set", Size: 33}},
		{"resp/setget", resp, "resp", ClientConfig{Conn: 5, Op: "setget", Size: 50, Keys: 7}},
		{"resp/setget-empty", resp, "resp", ClientConfig{Conn: 6, Op: "setget", Size: 0, Keys: 3}},
		// Conn 4 set keys 4000..4999; this GETs the same keys, unknown to it.
		{"resp/get-unknown", resp, "resp", ClientConfig{Conn: 4, Op: "get", Size: 33}},
		{"amf-echo/1", AMFEcho{}, "amf-echo", ClientConfig{Conn: 7, Size: 1}},
		{"amf-echo/300", AMFEcho{}, "amf-echo", ClientConfig{Conn: 8, Size: 300}},
	}
	for _, c := range cases {
		for _, verify := range []bool{true, false} {
			cfg := c.cfg
			cfg.Verify = verify
			for _, shape := range []struct{ depth, chunk int }{{1, 1 << 20}, {16, 1 << 20}, {16, 1}, {5, 7}} {
				cl, err := NewClient(c.proto, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Run(c.name, func(t *testing.T) { roundTrip(t, c.srv, cl, 200, shape.depth, shape.chunk) })
			}
		}
	}
}

func asMismatch(t *testing.T, err error) *MismatchError {
	t.Helper()
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a *MismatchError", err)
	}
	return me
}

func TestEchoClientMismatch(t *testing.T) {
	cl, _ := NewEchoClient(ClientConfig{Conn: 9, Size: 16, Verify: true})
	var req []byte
	for seq := range uint64(4) {
		req = cl.AppendRequest(req, seq)
	}
	reply := append([]byte(nil), req...)
	reply[2*16+5] ^= 1 // third reply, byte 5
	for i := range 2 {
		n, ok, err := cl.ParseReply(reply)
		if err != nil || !ok || n != 16 {
			t.Fatalf("reply %d: %d %v %v", i, n, ok, err)
		}
		reply = reply[n:]
	}
	_, _, err := cl.ParseReply(reply)
	me := asMismatch(t, err)
	if me.Conn != 9 || me.Seq != 2 || me.Offset != 5 || me.StreamOffset != 37 || me.Got[0] != reply[5] {
		t.Fatalf("mismatch %+v", me)
	}
	// Bytes from another connection's payload are caught too.
	other := AppendPattern(nil, 10, 2, 16)
	if _, _, err := cl.ParseReply(other); err == nil {
		t.Fatal("another connection's payload passed")
	}
}

func TestUnsolicitedReplies(t *testing.T) {
	echo, _ := NewEchoClient(ClientConfig{Conn: 1, Size: 4, Verify: true})
	disc, _ := NewDiscardClient(ClientConfig{Conn: 1, Size: 4})
	resp, _ := NewRESPClient(ClientConfig{Conn: 1, Verify: true})
	for _, cl := range []Client{echo, disc, resp} {
		if _, _, err := cl.ParseReply([]byte("x")); asMismatch(t, err).Seq != errNoRequest {
			t.Fatalf("%T: %v", cl, err)
		}
	}
	disc.AppendRequest(nil, 0)
	if _, _, err := disc.ParseReply([]byte("+OK\r\n")); err == nil {
		t.Fatal("discard accepted a reply")
	}
	if _, err := NewEchoClient(ClientConfig{}); err == nil {
		t.Fatal("echo with size 0 accepted")
	}
	if _, err := NewRESPClient(ClientConfig{Op: "hset"}); err == nil {
		t.Fatal("unknown RESP op accepted")
	}
}

func TestRESPClientMismatch(t *testing.T) {
	srv := NewRESP(Config{})
	cfg := ClientConfig{Conn: 77, Op: "setget", Size: 20, Keys: 1, Verify: true}
	cl, _ := NewRESPClient(cfg)
	m := &memStream{}
	ss := srv.NewSession()
	var starts []int // each reply's offset in the reply stream
	var out []byte
	for seq := range uint64(40) {
		m.feed(cl.AppendRequest(nil, seq))
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, len(out))
		out = append(out, m.takeOut()...)
	}
	// The first GET after a SET (Keys is 1, so the same key) has a known value.
	rc := cl.(*respClient)
	get := -1
	for seq, seenSet := 0, false; seq < 40 && get < 0; seq++ {
		switch rc.op(uint64(seq)) {
		case opSet:
			seenSet = true
		case opGet:
			if seenSet {
				get = seq
			}
		}
	}
	if get < 0 {
		t.Fatal("no GET after a SET in 40 requests")
	}
	hdr := len("$20\r\n")
	bad := append([]byte(nil), out...)
	bad[starts[get]+hdr+3] ^= 0x80

	fresh, _ := NewRESPClient(cfg)
	for seq := range uint64(40) {
		fresh.AppendRequest(nil, seq)
	}
	buf := bad
	for i := 0; ; i++ {
		n, ok, err := fresh.ParseReply(buf)
		if err != nil {
			me := asMismatch(t, err)
			if i != get || me.Seq != uint64(get) || me.Conn != 77 || me.Offset != hdr+3 || me.StreamOffset != int64(starts[get]+hdr+3) {
				t.Fatalf("reply %d: mismatch %+v, want seq %d offset %d", i, me, get, hdr+3)
			}
			break
		}
		if !ok {
			t.Fatalf("reply %d: incomplete, corruption not found", i)
		}
		buf = buf[n:]
	}

	// A server error where +PONG is due is caught at its first byte.
	ping, _ := NewRESPClient(ClientConfig{Conn: 1, Verify: true})
	ping.AppendRequest(nil, 0)
	_, _, err := ping.ParseReply([]byte("-ERR no\r\n"))
	if me := asMismatch(t, err); me.Offset != 0 || me.Seq != 0 {
		t.Fatalf("mismatch %+v", me)
	}
	// A GET of an unknown key takes any bulk string, nothing else.
	get1, _ := NewRESPClient(ClientConfig{Conn: 1, Op: "get", Verify: true})
	get1.AppendRequest(nil, 0)
	if n, ok, err := get1.ParseReply([]byte("$3\r\nabc\r\n")); n != 9 || !ok || err != nil {
		t.Fatalf("unknown GET: %d %v %v", n, ok, err)
	}
	get1.AppendRequest(nil, 1)
	if _, _, err := get1.ParseReply([]byte(":1\r\n")); err == nil {
		t.Fatal("unknown GET accepted an integer reply")
	}
}

func TestFrameReply(t *testing.T) {
	cases := []struct {
		in  string
		n   int // 0: incomplete
		bad int // -1: well formed
	}{
		{"+OK\r\n", 5, -1},
		{"-ERR x\r\n", 8, -1},
		{":-12\r\n", 6, -1},
		{"$-1\r\n", 5, -1},
		{"*-1\r\n", 5, -1},
		{"$3\r\nabc\r\n", 9, -1},
		{"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", 19, -1},
		{"*0\r\n", 4, -1},
		{"+OK\r", 0, -1},
		{"$3\r\nab", 0, -1},
		{"*2\r\n$1\r\na\r\n", 0, -1},
		{"", 0, -1},
		{"?", 0, 0},
		{":x\r\n", 0, 1},
		{"+OK\rx", 0, 4},
		{"$3\r\nabcd\r\n", 0, 7},
		{"$x\r\n", 0, 1},
		{"*1\r\n?", 0, 4},
		{"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", 0, 33},
	}
	for _, c := range cases {
		n, bad, _ := frameReply([]byte(c.in), 0)
		if n != c.n || bad != c.bad {
			t.Errorf("%q: n %d bad %d, want %d %d", c.in, n, bad, c.n, c.bad)
		}
	}
}
