package serversocket_test

// The cold review of the AMF work (helper-25): each test failed against
// the code it was written for, and states the behaviour that is right
// (the fixes came after, in the commit that added these files).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// TestReviewReadObjectAfterReconnect: ReadObject's scan of a partial
// object is kept in the socket's socketExt keyed only by the count of
// bytes consumed (object.go:89-99), and neither Connect nor attach
// (socket.go:126) resets it or that count. A client Socket that read
// part of an object, lost the connection and connected again continues
// the old scan over the new connection's bytes: here the first
// connection left `09 05 01` (an array of 2, header only) and the second
// sends `04 01`, the integer 1, which ReadObject reports as an EOFError
// (the stale scan waits for byte 3 and up) though both of its bytes are
// in. Right: a new connection is a new stream; ReadObject returns 1.
func TestReviewReadObjectAfterReconnect(t *testing.T) {
	e := newEngine(t, loop.Config{})
	ln, port := peerListener(t)
	s := serversocket.NewSocketOn(e)
	rec := newRecorder[string]()
	s.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { rec.add("connect") }, 0)
	s.AddEventListener(serversocket.Close, func(serversocket.Eventer) { rec.add("close") }, 0)
	s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
		v, err := s.ReadObject()
		rec.add(fmt.Sprintf("data %v %s %d", v, errKind(err), s.BytesAvailable()))
	}, 0)
	count := func(prefix string) func([]string) bool {
		return func(items []string) bool {
			n := 0
			for _, it := range items {
				if strings.HasPrefix(it, prefix) {
					n++
				}
			}
			return n >= 1 && strings.HasPrefix(items[len(items)-1], prefix)
		}
	}

	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	p1 := acceptPeer(t, ln)
	rec.waitFor(t, "connect", count("connect"))
	p1.Write([]byte{0x09, 0x05, 0x01}) // an array of two elements: its header only
	rec.waitFor(t, "the partial object's EOFError", func(items []string) bool {
		return strings.HasPrefix(items[len(items)-1], "data <nil> EOFError 2030 3")
	})
	p1.Close()
	rec.waitFor(t, "close", count("close"))

	if err := s.Connect("127.0.0.1", port); err != nil {
		t.Fatal(err)
	}
	p2 := acceptPeer(t, ln)
	rec.waitFor(t, "the second connect", count("connect"))
	p2.Write([]byte{0x04, 0x01}) // the integer 1, whole
	got := rec.waitFor(t, "the integer's data event", func(items []string) bool {
		last := items[len(items)-1]
		return last == "data 1 nil 0" || strings.HasSuffix(last, " 2") // read, or all in and still not read
	})
	if last := got[len(got)-1]; last != "data 1 nil 0" {
		t.Errorf("after reconnecting, ReadObject over `04 01`: %q; want 1 (events %q)", last, got)
	}
}

// TestReviewXMLSocketForDropsBufferedMessages: when s already holds input,
// NewXMLSocketFor (xmlsocket.go:66-68) dispatches its complete messages
// at once, from inside the constructor, before its caller can have added
// a Data listener to the XMLSocket it has not returned yet: the messages
// are dispatched to nobody and discarded. (A server that looks at a
// connection's first bytes before deciding it is an XMLSocket, in
// socketData, meets exactly this.) Right: no message is lost; the ones
// already buffered are delivered to the listeners added after the call
// (dispatched later on the loop, or left for the next socketData).
func TestReviewXMLSocketForDropsBufferedMessages(t *testing.T) {
	e := newEngine(t, loop.Config{})
	rec := newRecorder[string]()
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		var x *serversocket.XMLSocket
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			if x != nil {
				return
			}
			x = serversocket.NewXMLSocketFor(s)
			x.AddEventListener(serversocket.Data, func(ev serversocket.Eventer) {
				rec.add(ev.(*serversocket.DataEvent).Data)
			}, 0)
			x.Send("made") // tells the client its first write was taken
		}, 0)
	})
	c.Write([]byte("<a/>\x00<b/>\x00"))
	if got := string(readN(t, c, 5)); got != "made\x00" {
		t.Fatalf("the server sent %q", got)
	}
	c.Write([]byte("<c/>\x00")) // a later message, delivered either way: the sync point
	got := rec.waitFor(t, "<c/>", func(items []string) bool {
		return len(items) > 0 && items[len(items)-1] == "<c/>"
	})
	if strings.Join(got, ",") != "<a/>,<b/>,<c/>" {
		t.Errorf("the XMLSocket's data events: %q; want [<a/> <b/> <c/>]", got)
	}
}
