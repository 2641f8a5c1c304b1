package proto

import (
	"net"
	"strings"
	"testing"
)

// TestReviewRESPClientSetnameValidates: redis-server refuses a client name
// with spaces, newlines or other characters outside '!'..'~' ("-ERR Client
// names cannot contain spaces, newlines or special characters."), because
// CLIENT LIST and CLIENT INFO are space-separated field=value lines, one
// per client, that tools split. resp_cmd_client.go takes any name, so a
// client can forge fields and whole lines in what CLIENT LIST prints.
func TestReviewRESPClientSetnameValidates(t *testing.T) {
	for _, name := range []string{"a b", "x\nid=1 addr=10.0.0.1:1 laddr=10.0.0.2:2 name=admin db=0 cmd=client|list"} {
		st := &addrStream{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40001}, local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6379}}
		st.feed([]byte(arr("CLIENT", "SETNAME", name) + arr("CLIENT", "LIST")))
		if err := NewRESP(Config{}).NewSession().Serve(st); err != nil {
			t.Fatal(err)
		}
		out := string(st.out)
		if !strings.HasPrefix(out, "-ERR Client names cannot contain spaces, newlines or special characters.\r\n") {
			t.Errorf("CLIENT SETNAME %q: replies %q, want redis-server's refusal", name, out)
		}
	}
}

// TestReviewRESPClientSubcommandArity: redis-server checks each CLIENT
// subcommand's arity ("-ERR wrong number of arguments for 'client|info'
// command"); resp_cmd_client.go ignores extra arguments of INFO, ID and
// GETNAME (checked against redis-server 7.0.15).
func TestReviewRESPClientSubcommandArity(t *testing.T) {
	for _, c := range [][]string{{"CLIENT", "INFO", "x"}, {"CLIENT", "GETNAME", "x"}, {"CLIENT", "ID", "x"}} {
		st := &addrStream{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 1}, local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}}
		st.feed([]byte(arr(c...)))
		if err := NewRESP(Config{}).NewSession().Serve(st); err != nil {
			t.Fatal(err)
		}
		want := "-ERR wrong number of arguments for 'client|" + strings.ToLower(c[1]) + "' command\r\n"
		if string(st.out) != want {
			t.Errorf("%q: replies %q, want %q", c, st.out, want)
		}
	}
}
