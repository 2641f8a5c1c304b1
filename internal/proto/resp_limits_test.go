package proto

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestRESPTrickledArrayIsLinear: a 1M-element array trickled in small
// pieces is scanned once, not from its start on every piece: the parser's
// steps stay within a small multiple of the bytes received. (Before the
// session kept its progress, each piece re-walked every element so far.)
func TestRESPTrickledArrayIsLinear(t *testing.T) {
	const elems = DefaultMaxArgs // keys: the documented limit
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n$6\r\nEXISTS\r\n", elems+1)
	for i := range elems {
		k := fmt.Sprintf("k%d", i)
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(k), k)
	}
	req := []byte(b.String())
	ss := NewRESP(Config{}).NewSession().(*respSession)
	m := &memStream{}
	const piece = 1000
	for off := 0; off < len(req); off += piece {
		m.feed(req[off:min(off+piece, len(req))])
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
	}
	if got := string(m.out); got != ":0\r\n" {
		t.Fatalf("reply %q, want :0", got)
	}
	if m.InboundBuffered() != 0 {
		t.Fatalf("%d bytes left buffered", m.InboundBuffered())
	}
	// Each piece may re-read the header of the element it stopped in (at
	// most maxHeaderLine bytes); everything else is examined about once.
	bound := 3*len(req) + (len(req)/piece+1)*maxHeaderLine
	t.Logf("%d bytes in %d pieces: %d parser steps (bound %d)", len(req), len(req)/piece+1, ss.steps, bound)
	if ss.steps > bound {
		t.Fatalf("parser steps %d for %d bytes: not linear (bound %d)", ss.steps, len(req), bound)
	}
}

// TestRESPTrickledInlineIsLinear: the same for an inline line.
func TestRESPTrickledInlineIsLinear(t *testing.T) {
	line := []byte("ECHO " + strings.Repeat("x", 60<<10) + "\r\n")
	ss := NewRESP(Config{}).NewSession().(*respSession)
	m := &memStream{}
	for _, c := range line {
		m.feed([]byte{c})
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasPrefix(string(m.out), "$61440\r\n") {
		t.Fatalf("reply starts %q", m.out[:min(len(m.out), 20)])
	}
	if ss.steps > 3*len(line) {
		t.Fatalf("parser steps %d for a %d-byte line fed a byte at a time: not linear", ss.steps, len(line))
	}
}

// TestRESPStopsAtHighMark: pipelined GETs of a large value stop being
// executed once the stream is not Writable, leaving the rest buffered; each
// further Serve after the output drained goes on, and every reply arrives,
// in order, exactly once.
func TestRESPStopsAtHighMark(t *testing.T) {
	const high, valSize = 64 << 10, 64 << 10
	srv := NewRESP(Config{})
	val := strings.Repeat("v", valSize)
	if _, err := serveAll(srv, arr("SET", "big", val)); err != nil {
		t.Fatal(err)
	}
	get := arr("GET", "big")
	n := (60 << 10) / len(get)
	ss := srv.NewSession()
	m := &memStream{high: high}
	m.feed([]byte(strings.Repeat(get, n)))
	reply := fmt.Sprintf("$%d\r\n%s\r\n", valSize, val)
	got, serves := 0, 0
	for m.InboundBuffered() > 0 {
		serves++
		if serves > n+1 {
			t.Fatalf("no progress: %d serves, %d bytes still buffered", serves, m.InboundBuffered())
		}
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
		// What one Serve queues: the high mark, plus the reply gathered
		// before it looked, plus the reply writer's batch.
		if most := high + len(reply) + flushAt; len(m.out) > most {
			t.Fatalf("one Serve queued %d bytes, more than %d", len(m.out), most)
		}
		out := m.takeOut() // the output drains
		if len(out)%len(reply) != 0 || !strings.HasPrefix(string(out), reply[:100]) {
			t.Fatalf("serve %d: %d bytes of output, not whole replies", serves, len(out))
		}
		got += len(out) / len(reply)
	}
	if got != n {
		t.Fatalf("got %d replies, want %d", got, n)
	}
	t.Logf("%d GETs of %d bytes answered in %d Serve calls", n, valSize, serves)
}

// TestRESPReservesRoom: a request larger than the stream holds asks for
// room as its bytes arrive, twice what it holds, never more than its exact
// size; a client that only announces a huge bulk reserves next to nothing;
// a refusal gets an error reply and ErrNoRoom.
func TestRESPReservesRoom(t *testing.T) {
	val := strings.Repeat("x", 5<<20)
	req := arr("SET", "k", val)
	m := &memStream{}
	ss := NewRESP(Config{}).NewSession()
	for off := 0; off < len(req); {
		k := min(len(req)-off, 64<<10)
		m.feed([]byte(req[off : off+k]))
		off += k
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
		if held := m.InboundBuffered(); held > 0 && (m.reserved > max(2*held, held+growRoom) || m.reserved > len(req)) {
			t.Fatalf("holding %d bytes, reserved %d (request %d)", held, m.reserved, len(req))
		}
	}
	if string(m.out) != "+OK\r\n" || m.reserved != len(req) {
		t.Fatalf("reply %q, reserved %d, want +OK and the request's size %d", m.out, m.reserved, len(req))
	}

	announced := &memStream{}
	ss = NewRESP(Config{}).NewSession()
	announced.feed([]byte("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$536870912\r\n"))
	if err := ss.Serve(announced); err != nil {
		t.Fatal(err)
	}
	if announced.reserved > growRoom+100 {
		t.Fatalf("a header announcing 512 MiB reserved %d bytes", announced.reserved)
	}

	refused := &memStream{reserveMax: 1 << 20}
	ss = NewRESP(Config{}).NewSession()
	refused.feed([]byte(req[:2<<20])) // wants 4 MiB
	err := ss.Serve(refused)
	if !errors.Is(err, ErrNoRoom) || !strings.HasPrefix(string(refused.out), "-ERR request too large") {
		t.Fatalf("refused reservation: %v, reply %q", err, refused.out)
	}
}

// TestRESPReservesDoublingForUnknownSizes: an array of many small elements
// asks for twice what it holds, not a header's worth at a time.
func TestRESPReservesDoublingForUnknownSizes(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n$6\r\nEXISTS\r\n", 100001)
	for i := range 100000 {
		fmt.Fprintf(&b, "$1\r\n%d\r\n", i%10)
	}
	req := b.String()
	m := &memStream{}
	ss := NewRESP(Config{}).NewSession()
	m.feed([]byte(req[:100000]))
	if err := ss.Serve(m); err != nil {
		t.Fatal(err)
	}
	if m.reserved < 200000 {
		t.Fatalf("reserved %d for a partial array of 100000 bytes, want at least twice that", m.reserved)
	}
}
