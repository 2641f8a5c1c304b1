package serversocket_test

import (
	"bytes"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// outputTurn is what a SocketData listener saw as its turn began: whether
// the loop still reports output progress to the socket, and BytesPending.
type outputTurn struct {
	watching bool
	pending  int
}

// A Socket takes the loop's output progress reports only while it needs
// them: while an OutputProgress listener is registered, or while the
// connection holds output that BytesPending must see drain. Replies the
// kernel takes at once leave it off them, and the events AIR promises still
// come while someone listens.
func TestSocketWatchesOutputOnlyWhileNeeded(t *testing.T) {
	const big = 32 << 20 // more than the kernel buffers while the client does not read
	payload := pattern(big)
	e := newEngine(t, loop.Config{})
	turns := make(chan outputTurn, 1)
	s, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			turns <- outputTurn{serversocket.WatchingOutput(s), s.BytesPending()}
			in, err := s.ReadBytes(nil, 0, 0)
			if err != nil {
				t.Errorf("ReadBytes: %v", err)
			}
			if string(in) == "big" {
				in = payload
			}
			if err := s.WriteBytes(in, 0, 0); err != nil {
				t.Errorf("WriteBytes: %v", err)
			}
		}, 0)
	})
	// step echoes msg and returns what the listener saw as its turn began:
	// the state the previous reply left.
	step := func(msg string) outputTurn {
		t.Helper()
		echo(t, c, msg)
		return testutil.Recv(t, turns, "the SocketData turn of "+msg)
	}
	idle := outputTurn{false, 0}

	step("a")
	if got := step("b"); got != idle {
		t.Fatalf("after a reply with no OutputProgress listener: %+v, want %+v", got, idle)
	}

	progress := newRecorder[outputProgress]()
	l := s.AddEventListener(serversocket.OutputProgress, func(ev serversocket.Eventer) {
		op := ev.(*serversocket.OutputProgressEvent)
		progress.add(outputProgress{op.BytesPending, op.BytesTotal})
	}, 0)
	step("c") // written before the listener saw a flush: its own flush is reported
	progress.waitFor(t, "OutputProgress for the reply c", func(ev []outputProgress) bool {
		return len(ev) > 0 && ev[len(ev)-1] == outputProgress{0, 3}
	})
	if got := step("d"); got != (outputTurn{true, 0}) {
		t.Fatalf("with an OutputProgress listener: %+v, want watching and nothing pending", got)
	}
	progress.waitFor(t, "OutputProgress for the reply d", func(ev []outputProgress) bool {
		return ev[len(ev)-1] == outputProgress{0, 4}
	})

	s.RemoveEventListener(l)
	step("e") // the report of this reply finds nobody listening, and the output drained
	if got := step("f"); got != idle {
		t.Fatalf("after the listener was removed: %+v, want %+v", got, idle)
	}
	if ev := progress.snapshot(); ev[len(ev)-1] != (outputProgress{0, 4}) {
		t.Fatalf("OutputProgress after the listener was removed: %v", ev)
	}

	// A reply the kernel cannot take: the socket follows its drain, then
	// lets go once it is all sent.
	if _, err := c.Write([]byte("big")); err != nil {
		t.Fatal(err)
	}
	testutil.Recv(t, turns, "the SocketData turn of big")
	// The loop stops reading while the reply is backed up: ask it directly.
	if !testutil.Recv(t, serversocket.AskWatchingOutput(s), "the loop's answer") {
		t.Fatal("not watching while the client does not read the big reply")
	}
	if p := s.BytesPending(); p == 0 {
		t.Fatal("BytesPending 0 while the client does not read the big reply")
	}
	if got := readN(t, c, big); !bytes.Equal(got, payload) {
		t.Fatal("big reply corrupted")
	}
	if got := step("h"); got != idle {
		t.Fatalf("after the big reply was sent: %+v, want %+v", got, idle)
	}
}
