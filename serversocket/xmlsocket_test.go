package serversocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// xmlEvents records an XMLSocket's events as strings: "connect",
// "data:<text>", "close", "ioError".
func xmlEvents(x *serversocket.XMLSocket) *recorder[string] {
	r := newRecorder[string]()
	x.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { r.add("connect") }, 0)
	x.AddEventListener(serversocket.Data, func(e serversocket.Eventer) {
		d := e.(*serversocket.DataEvent)
		if e.Target() != x {
			r.add("data with a wrong target")
		}
		r.add("data:" + d.Data)
	}, 0)
	x.AddEventListener(serversocket.Close, func(serversocket.Eventer) { r.add("close") }, 0)
	x.AddEventListener(serversocket.IOErrorType, func(serversocket.Eventer) { r.add("ioError") }, 0)
	return r
}

// TestXMLSocketClient: AIR's XMLSocket against a plain TCP peer. Send
// appends the 0 byte; the peer's messages, in one write, split across
// writes, or trickled a byte at a time, become data events in order with
// their text; the peer's close is a close event.
func TestXMLSocketClient(t *testing.T) {
	e := newEngine(t, loop.Config{})
	ln, port := peerListener(t)
	x := serversocket.NewXMLSocketOn(e)
	if x.Timeout() != 20000 || x.Connected() {
		t.Fatalf("new XMLSocket: timeout %d, connected %v", x.Timeout(), x.Connected())
	}
	if err := x.Send("<early/>"); err == nil {
		t.Error("Send before Connect succeeded")
	} else if _, ok := errors.AsType[*serversocket.IOError](err); !ok {
		t.Errorf("Send before Connect: %v, want an IOError", err)
	}
	ev := xmlEvents(x)
	if err := x.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	peer := acceptPeer(t, ln)
	ev.waitLen(t, 1, "connect")
	if err := x.Send("<hello/>"); err != nil {
		t.Fatal(err)
	}
	if err := x.Send(serversocket.NewEvent("x", false, false)); err != nil { // a Stringer: its text
		t.Fatal(err)
	}
	if got := string(readN(t, peer, len("<hello/>\x00[Event type=\"x\" bubbles=false cancelable=false]\x00"))); got != "<hello/>\x00[Event type=\"x\" bubbles=false cancelable=false]\x00" {
		t.Errorf("the peer read %q", got)
	}
	if err := x.Send("a\x00b"); err == nil {
		t.Error("Send of a 0 byte succeeded")
	} else if _, ok := errors.AsType[*serversocket.ArgumentError](err); !ok {
		t.Errorf("Send of a 0 byte: %v, want an ArgumentError", err)
	}

	peer.Write([]byte("<a/>\x00<b>two</b>\x00<par"))
	peer.Write([]byte("tial/>\x00"))
	long := strings.Repeat("é", 1000)
	for _, c := range []byte(long + "\x00") {
		peer.Write([]byte{c})
	}
	peer.Close()
	want := []string{"connect", "data:<a/>", "data:<b>two</b>", "data:<partial/>", "data:" + long, "close"}
	got := ev.waitLen(t, len(want), "the peer's messages and close")
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestXMLSocketServer: a ServerSocket that reads each accepted socket as an
// XMLSocket (NewXMLSocketFor) echoes AIR XMLSocket clients' messages;
// a client's Close sends no close event to itself, and the server sees
// close.
func TestXMLSocketServer(t *testing.T) {
	e := newEngine(t, loop.Config{})
	serverEvents := newRecorder[string]()
	srv := startServer(t, e, func(s *serversocket.Socket) {
		x := serversocket.NewXMLSocketFor(s)
		x.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
			text := ev.(*serversocket.DataEvent).Data
			x.Send("echo:" + text)
		}, 0)
		x.AddEventListener(serversocket.Close, func(serversocket.Eventer) { serverEvents.add("close") }, 0)
	})
	clients := make([]*serversocket.XMLSocket, 3)
	records := make([]*recorder[string], 3)
	for i := range clients {
		clients[i] = serversocket.NewXMLSocketOn(e)
		records[i] = xmlEvents(clients[i])
		if err := clients[i].Connect("127.0.0.1", srv.LocalPort()); err != nil {
			t.Fatal(err)
		}
		records[i].waitLen(t, 1, "connect")
	}
	for round := range 5 {
		for i, c := range clients {
			if err := c.Send(strings.Repeat("<m n='"+string(rune('a'+i))+"'/>", round+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, r := range records {
		got := r.waitLen(t, 6, "five echoes")
		for round := range 5 {
			want := "data:echo:" + strings.Repeat("<m n='"+string(rune('a'+i))+"'/>", round+1)
			if got[round+1] != want {
				t.Errorf("client %d echo %d: %q, want %q", i, round, got[round+1], want)
			}
		}
	}
	clients[0].Close()
	serverEvents.waitLen(t, 1, "the server's close")
	if got := records[0].snapshot(); len(got) != 6 {
		t.Errorf("after its own Close the client recorded %q: no close event is due", got)
	}
}

// TestXMLSocketMessageBound: a peer that sends more than MaxMessageSize
// without a 0 gets its connection closed, with an ioError on the server's
// XMLSocket, while another client of the same server is served; a server
// that raised the bound with SetMaxMessageSize takes a larger message.
func TestXMLSocketMessageBound(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1})
	xmlServer := func(max int) (*serversocket.ServerSocket, *recorder[string]) {
		events := newRecorder[string]()
		srv := startServer(t, e, func(s *serversocket.Socket) {
			x := serversocket.NewXMLSocketFor(s)
			if max > 0 {
				if err := x.SetMaxMessageSize(max); err != nil {
					events.add("SetMaxMessageSize: " + err.Error())
				}
			}
			x.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
				events.add(fmt.Sprintf("data %d", len(ev.(*serversocket.DataEvent).Data)))
				x.Send("ok")
			}, 0)
			x.AddEventListener(serversocket.IOErrorType, func(serversocket.Eventer) { events.add("ioError") }, 0)
		})
		return srv, events
	}
	srv, events := xmlServer(0)
	flooder, good := dial(t, hostPort(srv)), dial(t, hostPort(srv))
	go flooder.Write(bytes.Repeat([]byte("x"), 70000)) // blocks once the server stops reading
	if rest, err := io.ReadAll(flooder); len(rest) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the flooding client read %d bytes, %v; want its connection closed", len(rest), err)
	}
	events.waitFor(t, "the ioError", func(s []string) bool { return slices.Contains(s, "ioError") })
	good.Write([]byte("<ok/>\x00"))
	if got := string(readN(t, good, 3)); got != "ok\x00" {
		t.Errorf("the other client got %q", got)
	}

	large, largeEvents := xmlServer(200000)
	c := dial(t, hostPort(large))
	go c.Write(append(bytes.Repeat([]byte("y"), 150000), 0))
	if got := string(readN(t, c, 3)); got != "ok\x00" {
		t.Errorf("the client of the 200,000-byte bound got %q; server events %q", got, largeEvents.snapshot())
	}
	if got := largeEvents.snapshot(); len(got) != 1 || got[0] != "data 150000" {
		t.Errorf("server events %q, want one message of 150,000 bytes", got)
	}
	if got := events.snapshot(); strings.Join(got, ",") != "ioError,data 5" {
		t.Errorf("the bounded server's events %q, want the ioError then the other client's message", got)
	}
}

// TestXMLSocketMessageBoundSmallInbound: on an engine whose MaxInbound
// (4 KiB) is below the message bound, a message that fills the input
// without its 0 is an ioError and closes the connection at once, instead
// of waiting for the inbound timeout (found by the review).
func TestXMLSocketMessageBoundSmallInbound(t *testing.T) {
	e := newEngine(t, loop.Config{Loops: 1, MaxInbound: 4 << 10})
	events := newRecorder[string]()
	srv := startServer(t, e, func(s *serversocket.Socket) {
		x := serversocket.NewXMLSocketFor(s)
		x.AddEventListener(serversocket.IOErrorType, func(ev serversocket.Eventer) {
			events.add(ev.(*serversocket.IOErrorEvent).Text)
		}, 0)
	})
	c := dial(t, hostPort(srv))
	go c.Write(bytes.Repeat([]byte("x"), 10<<10)) // blocks once the server stops reading
	if rest, err := io.ReadAll(c); len(rest) != 0 || err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the client read %d bytes, %v; want its connection closed", len(rest), err)
	}
	got := events.waitLen(t, 1, "the ioError")
	if !strings.Contains(got[0], "the input this connection may hold") {
		t.Errorf("ioError %q", got[0])
	}
}
