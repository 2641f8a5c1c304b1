package backend

import (
	"testing"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// TestStoppedSessionResumesWhenDrainedWithNoInput: a session that stopped at
// the high mark right after its last request (no input left) takes the next
// SocketData once its output has drained. Before, the drain was ignored
// without input in hand, the session stayed stopped, every later SocketData
// was dropped, and the connection hung.
func TestStoppedSessionResumesWhenDrainedWithNoInput(t *testing.T) {
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sock := serversocket.NewSocketOn(e) // not connected: no input
	st := &socketStream{srv: &serverSocketServer{high: 64 << 10, low: 32 << 10}, s: sock, stopped: true}
	sock.AddEventHandler(serversocket.OutputProgress, st, 0)

	st.HandleEvent(serversocket.NewOutputProgressEvent(serversocket.OutputProgress, false, false, 40<<10, 0))
	if !st.stopped {
		t.Fatal("resumed above the low mark")
	}
	st.HandleEvent(serversocket.NewOutputProgressEvent(serversocket.OutputProgress, false, false, 0, 0))
	if st.stopped {
		t.Fatal("still stopped after the output drained: the next SocketData would be dropped")
	}
	if sock.HasEventListener(serversocket.OutputProgress) {
		t.Error("still listening for outputProgress after resuming")
	}
}
