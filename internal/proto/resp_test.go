package proto

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

// arr encodes a request as a RESP array of bulk strings.
func arr(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// step is one request and its exact reply, run in order on one server.
type step struct{ req, reply string }

func runSteps(t *testing.T, srv Server, steps []step) {
	t.Helper()
	m := &memStream{}
	ss := srv.NewSession()
	for i, s := range steps {
		m.feed([]byte(s.req))
		if err := ss.Serve(m); err != nil {
			t.Fatalf("step %d %q: %v", i, s.req, err)
		}
		if got := string(m.takeOut()); got != s.reply {
			t.Fatalf("step %d %q:\n got %q\nwant %q", i, s.req, got, s.reply)
		}
		if m.InboundBuffered() != 0 {
			t.Fatalf("step %d %q: %d bytes left buffered", i, s.req, m.InboundBuffered())
		}
	}
}

func TestRESPCommands(t *testing.T) {
	wrong := func(cmd string) string { return "-ERR wrong number of arguments for '" + cmd + "' command\r\n" }
	runSteps(t, NewRESP(Config{}), []step{
		{arr("PING"), "+PONG\r\n"},
		{arr("ping"), "+PONG\r\n"},
		{arr("PiNg", "hello"), "$5\r\nhello\r\n"},
		{arr("PING", "a", "b"), wrong("ping")},
		{arr("ECHO", "hi there"), "$8\r\nhi there\r\n"},
		{arr("ECHO", ""), "$0\r\n\r\n"},
		{arr("ECHO"), wrong("echo")},
		{arr("GET", "k"), "$-1\r\n"},
		{arr("SET", "k", "v1"), "+OK\r\n"},
		{arr("GET", "k"), "$2\r\nv1\r\n"},
		{arr("SET", "k", "longer value"), "+OK\r\n"},
		{arr("GET", "k"), "$12\r\nlonger value\r\n"},
		{arr("SET", "k", ""), "+OK\r\n"},
		{arr("GET", "k"), "$0\r\n\r\n"},
		{arr("SET", "bin", "a\r\nb\x00"), "+OK\r\n"},
		{arr("GET", "bin"), "$5\r\na\r\nb\x00\r\n"},
		{arr("SET", "k", "v", "EX", "10"), "-ERR syntax error\r\n"},
		{arr("SET", "k"), wrong("set")},
		{arr("GET"), wrong("get")},
		{arr("GET", "a", "b"), wrong("get")},
		{arr("EXISTS", "k", "k", "nope", "bin"), ":3\r\n"},
		{arr("EXISTS"), wrong("exists")},
		{arr("DEL", "k", "nope", "k"), ":1\r\n"},
		{arr("GET", "k"), "$-1\r\n"},
		{arr("DEL"), wrong("del")},
		{arr("INCR", "n"), ":1\r\n"},
		{arr("INCR", "n"), ":2\r\n"},
		{arr("SET", "n", "-5"), "+OK\r\n"},
		{arr("INCR", "n"), ":-4\r\n"},
		{arr("SET", "n", "9223372036854775806"), "+OK\r\n"},
		{arr("INCR", "n"), ":9223372036854775807\r\n"},
		{arr("INCR", "n"), "-ERR increment or decrement would overflow\r\n"},
		{arr("SET", "n", "-9223372036854775808"), "+OK\r\n"},
		{arr("INCR", "n"), ":-9223372036854775807\r\n"},
		{arr("INCR", "bin"), "-ERR value is not an integer or out of range\r\n"},
		{arr("SET", "z", "007"), "+OK\r\n"},
		{arr("INCR", "z"), "-ERR value is not an integer or out of range\r\n"},
		{arr("SET", "z", " 7"), "+OK\r\n"},
		{arr("INCR", "z"), "-ERR value is not an integer or out of range\r\n"},
		{arr("INCR"), wrong("incr")},
		{arr("SET", "n", "41"), "+OK\r\n"},
		{arr("INCR", "n"), ":42\r\n"},
		{arr("GET", "n"), "$2\r\n42\r\n"},
		{arr("COMMAND"), "*0\r\n"},
		{arr("COMMAND", "DOCS"), "*0\r\n"},
		{arr("CONFIG", "GET", "save"), "*0\r\n"},
		{arr("config", "get", "appendonly", "save"), "*0\r\n"},
		{arr("CONFIG", "GET"), wrong("config|get")},
		{arr("CONFIG"), wrong("config")},
		{arr("CONFIG", "SET", "a", "b"), "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n"},
		{arr("FOO"), "-ERR unknown command 'FOO', with args beginning with: \r\n"},
		{arr("FOO", "bar", "baz"), "-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"},
		{arr("a\r\nb", "x\ny"), "-ERR unknown command 'a  b', with args beginning with: 'x y' \r\n"},
		{arr("FOO", strings.Repeat("x", 200), "y"), "-ERR unknown command 'FOO', with args beginning with: '" + strings.Repeat("x", 128) + "' \r\n"},
		{arr("FOO", strings.Repeat("x", 120), "yyyyyyyyyy", "z"), "-ERR unknown command 'FOO', with args beginning with: '" + strings.Repeat("x", 120) + "' 'yyyyy' \r\n"},
		{arr(strings.Repeat("C", 130)), "-ERR unknown command '" + strings.Repeat("C", 128) + "', with args beginning with: \r\n"},
		{"*0\r\n", ""},
		// Inline commands, as typed into telnet or sent by redis-cli.
		{"PING\r\n", "+PONG\r\n"},
		{"ping\n", "+PONG\r\n"},
		{"SET  a \t b\r\n", "+OK\r\n"},
		{"GET a\r\n", "$1\r\nb\r\n"},
		{"ECHO two words\r\n", wrong("echo")},
		{"\r\n", ""},
		{"   \n", ""},
		{"nope x\r\n", "-ERR unknown command 'nope', with args beginning with: 'x' \r\n"},
	})
}

func TestRESPQuit(t *testing.T) {
	srv := NewRESP(Config{})
	out, err := serveAll(srv, arr("PING")+arr("QUIT")+arr("SET", "after", "quit"))
	if !errors.Is(err, ErrQuit) {
		t.Fatalf("QUIT returned %v, want ErrQuit", err)
	}
	if out != "+PONG\r\n+OK\r\n" {
		t.Fatalf("QUIT replies %q", out)
	}
	if out, _ := serveAll(srv, arr("EXISTS", "after")); out != ":0\r\n" {
		t.Fatalf("a request after QUIT was executed: EXISTS replies %q", out)
	}
}

// pipeline is 100 requests of every kind, arrays and inline mixed.
func pipeline() (reqs []string) {
	for i := range 100 {
		k := fmt.Sprint("key:", i%7)
		switch i % 6 {
		case 0:
			reqs = append(reqs, arr("SET", k, strings.Repeat(string(rune('a'+i%26)), i)))
		case 1:
			reqs = append(reqs, arr("GET", k))
		case 2:
			reqs = append(reqs, "INCR ctr\r\n")
		case 3:
			reqs = append(reqs, arr("PING"))
		case 4:
			reqs = append(reqs, arr("DEL", k, "key:x"))
		case 5:
			reqs = append(reqs, "EXISTS "+k+" ctr\n")
		}
	}
	return reqs
}

func TestRESPPipelined(t *testing.T) {
	reqs := pipeline()
	// Reference: one request per Serve call.
	var want strings.Builder
	one := NewRESP(Config{})
	m := &memStream{}
	ss := one.NewSession()
	for _, r := range reqs {
		m.feed([]byte(r))
		if err := ss.Serve(m); err != nil {
			t.Fatal(err)
		}
		want.Write(m.takeOut())
	}
	if c := strings.Count(want.String(), "\r\n"); c < 100 {
		t.Fatalf("reference run gave only %d reply lines", c)
	}
	got, err := serveAll(NewRESP(Config{}), strings.Join(reqs, ""))
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Fatalf("pipelined replies differ:\n got %q\nwant %q", got, want.String())
	}
}

// feedPieces serves input split at the given offsets (ascending) on a
// fresh server, calling Serve after every piece, and returns all replies.
func feedPieces(srv Server, input []byte, cuts []int) (string, error) {
	m := &memStream{}
	ss := srv.NewSession()
	var out []byte
	prev := 0
	for _, c := range append(cuts, len(input)) {
		m.feed(input[prev:c])
		prev = c
		err := ss.Serve(m)
		out = append(out, m.takeOut()...)
		if err != nil {
			return string(out), err
		}
	}
	return string(out), nil
}

func TestRESPSplitEverywhere(t *testing.T) {
	input := []byte(strings.Join(pipeline(), ""))
	want, err := serveAll(NewRESP(Config{}), string(input))
	if err != nil {
		t.Fatal(err)
	}
	// Byte by byte.
	cuts := make([]int, 0, len(input))
	for i := 1; i < len(input); i++ {
		cuts = append(cuts, i)
	}
	if got, err := feedPieces(NewRESP(Config{}), input, cuts); err != nil || got != want {
		t.Fatalf("byte by byte: err %v, replies differ: %v", err, got != want)
	}
	// In two pieces, cut at every offset.
	for i := 1; i < len(input); i++ {
		if got, err := feedPieces(NewRESP(Config{}), input, []int{i}); err != nil || got != want {
			t.Fatalf("cut at %d: err %v, replies differ: %v", i, err, got != want)
		}
	}
}

func TestRESPProtocolErrors(t *testing.T) {
	long := strings.Repeat("9", 40)
	cases := []struct{ in, reason string }{
		{"*abc\r\n", "invalid multibulk length"},
		{"*-1\r\n", "invalid multibulk length"},
		{"*01\r\n", "invalid multibulk length"},
		{"*1\n$4\r\nPING\r\n", "invalid multibulk length"},
		{"*2000000\r\n", "invalid multibulk length"},
		{"*" + long, "too big mbulk count string"},
		{"*1\rX", "expected CRLF after length"},
		{"*1\r\n$abc\r\n", "invalid bulk length"},
		{"*1\r\n$-1\r\n", "invalid bulk length"},
		{"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"},
		{"*1\r\n$" + long, "too big bulk count string"},
		{"*1\r\n$4\rPING\r\n", "expected CRLF after length"},
		{"*1\r\n$600000000\r\n", "invalid bulk length"}, // over 512 MiB, body never sent
		{"*1\r\n+PING\r\n", "expected '$', got '+'"},
		{"*1\r\n\r\n", `expected '$', got '\x0d'`},
		{"*1\r\n$4\r\nPINGxx", "expected CRLF after bulk string"},
		{"*1\r\n$4\r\nPING\rx", "expected CRLF after bulk string"},
		{"*1\r\n$4\r\nPING\n\r", "expected CRLF after bulk string"},
		{strings.Repeat("x", DefaultMaxInline+1), "too big inline request"},
	}
	for _, c := range cases {
		srv := NewRESP(Config{})
		// A valid request first: its reply must come before the error.
		out, err := serveAll(srv, "PING\r\n"+c.in)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Reason != c.reason {
			t.Errorf("%q: error %v, want reason %q", c.in, err, c.reason)
			continue
		}
		if want := "+PONG\r\n-ERR Protocol error: " + c.reason + "\r\n"; out != want {
			t.Errorf("%q: replies %q, want %q", c.in, out, want)
		}
		// The server itself is unharmed: other connections go on.
		if out, err := serveAll(srv, arr("PING")); err != nil || out != "+PONG\r\n" {
			t.Errorf("%q: next connection got %q, %v", c.in, out, err)
		}
	}
}

func TestRESPLimits(t *testing.T) {
	srv := NewRESP(Config{MaxBulk: 10, MaxArgs: 3, MaxInline: 16})
	ok := []step{
		{arr("SET", "k", "0123456789"), "+OK\r\n"},
		{arr("GET", "k"), "$10\r\n0123456789\r\n"},
		{"SET k 012345678\r\n", "+OK\r\n"}, // 16 bytes, then the LF
		{"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", "+OK\r\n"},
	}
	runSteps(t, srv, ok)
	bad := []struct{ in, reason string }{
		// Rejected on the header alone: the body is never waited for.
		{"*2\r\n$3\r\nGET\r\n$11\r\n", "invalid bulk length"},
		{"*5\r\n", "invalid multibulk length"},
		{"SET k 0123456789\r\n", "too big inline request"},
		{"SET k 01234567890", "too big inline request"},
	}
	for _, c := range bad {
		out, err := serveAll(srv, c.in)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Reason != c.reason || out != "-ERR Protocol error: "+c.reason+"\r\n" {
			t.Errorf("%q: got %q, %v; want reason %q", c.in, out, err, c.reason)
		}
	}
	// Up to the limits, a partial request just waits.
	for _, partial := range []string{"*3\r\n$3\r\nSET\r\n$10\r\n012345678", "SET k 0123456789"} {
		m := &memStream{}
		ss := srv.NewSession()
		m.feed([]byte(partial))
		if err := ss.Serve(m); err != nil || len(m.out) != 0 || m.InboundBuffered() != len(partial) {
			t.Errorf("partial %q: err %v, wrote %q, kept %d bytes", partial, err, m.out, m.InboundBuffered())
		}
	}
}

func TestRESPConcurrentStore(t *testing.T) {
	srv := NewRESP(Config{})
	const workers, rounds = 8, 300
	errc := make(chan error, workers)
	for w := range workers {
		go func() {
			m := &memStream{}
			ss := srv.NewSession()
			for i := range rounds {
				own := fmt.Sprintf("own:%d:%d", w, i%5)
				val := fmt.Sprintf("v%d-%d", w, i)
				m.feed([]byte(arr("SET", own, val) + arr("INCR", "shared") + arr("GET", own) + arr("SET", "hot", val)))
				if err := ss.Serve(m); err != nil {
					errc <- err
					return
				}
				out := string(m.takeOut())
				want := fmt.Sprintf("$%d\r\n%s\r\n", len(val), val)
				if !strings.HasPrefix(out, "+OK\r\n:") || !strings.HasSuffix(out, want+"+OK\r\n") {
					errc <- fmt.Errorf("worker %d round %d: replies %q", w, i, out)
					return
				}
			}
			errc <- nil
		}()
	}
	for range workers {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	out, _ := serveAll(srv, arr("GET", "shared"))
	if want := fmt.Sprintf("%d", workers*rounds); out != fmt.Sprintf("$%d\r\n%s\r\n", len(want), want) {
		t.Fatalf("shared counter is %q, want %s", out, want)
	}
	if out, _ := serveAll(srv, arr("GET", "hot")); !strings.HasPrefix(out, "$") || !strings.Contains(out, "\r\nv") {
		t.Fatalf("hot key reads %q", out)
	}
}

// addrStream is a memStream that knows its addresses.
type addrStream struct {
	memStream
	remote, local net.Addr
}

func (s *addrStream) RemoteAddr() net.Addr { return s.remote }
func (s *addrStream) LocalAddr() net.Addr  { return s.local }

// TestRESPClient: CLIENT INFO and LIST give the connection's addresses in
// redis-server's addr=/laddr= form, with its id and name.
func TestRESPClient(t *testing.T) {
	st := &addrStream{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40001}, local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6379}}
	st.feed([]byte(arr("CLIENT", "SETNAME", "app") + arr("CLIENT", "INFO") + arr("CLIENT", "LIST") + arr("CLIENT", "GETNAME") + arr("CLIENT", "NOPE")))
	if err := NewRESP(Config{}).NewSession().Serve(st); err != nil {
		t.Fatal(err)
	}
	out := string(st.out)
	for _, want := range []string{
		"+OK\r\n",
		"id=", " addr=192.0.2.7:40001 laddr=127.0.0.1:6379 name=app db=0 cmd=client|info\n",
		" addr=192.0.2.7:40001 laddr=127.0.0.1:6379 name=app db=0 cmd=client|list\n",
		"$3\r\napp\r\n",
		"-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("replies %q lack %q", out, want)
		}
	}
}
