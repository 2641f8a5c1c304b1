package loop

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/testutil"
)

// Memory bound under hostile clients that send to an echo server and never
// read. The server stops reading a connection whose pending output reaches
// WriteHighWater, so its user-space memory per connection is bounded by the
// output ring: at most WriteHighWater plus one read (ReadBufferSize), in a
// power-of-two ring: here 64 KiB + 64 KiB = 128 KiB. With the garbage
// collector's headroom (GOGC=100 lets the heap reach twice the live data),
// the server's RSS stays under
//
//	baseline + conns x 2 x 128 KiB
//
// 1,000 clients x 1 MiB (the case): the bound is baseline + 250 MiB.
// On this kernel the socket buffers (tcp_wmem up to 4 MiB, tcp_rmem up to
// 32 MiB) absorb 1 MiB per connection, so the server hardly buffers at all.
// 100 clients x 16 MiB overflow the kernel's buffers: without the
// high-water mark the server would hold most of the 1,600 MiB (run with
// AIRSOCK_MEMBOUND_NOMARK=1 to see the test fail); with it, the bound is
// baseline + 25 MiB. Under io_uring the backend holds more per connection
// (backendHeld): input that arrived as the loop paused the connection, and
// output in sends not yet completed, which the marks count only beyond
// the first 64 KiB.
func TestMemoryBoundNonReadingClients(t *testing.T) {
	if os.Getenv("AIRSOCK_MEMBOUND_CHILD") != "" {
		memboundChild()
		return
	}
	if testing.Short() {
		t.Skip("sends 2,600 MiB over loopback")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory use; .ci/run runs this test without it")
	}
	t.Run("1000x1MiB", func(t *testing.T) { memoryBound(t, 1000, 1<<20) })
	t.Run("100x16MiB", func(t *testing.T) { memoryBound(t, 100, 16<<20) })
}

func memoryBound(t *testing.T, clients, perClient int) {
	const (
		highWater = 64 << 10
		ringBound = 128 << 10 // highWater + ReadBufferSize (64 KiB), rounded up to a power of two
	)
	env := "AIRSOCK_MEMBOUND_CHILD=" + strconv.Itoa(highWater)
	if os.Getenv("AIRSOCK_MEMBOUND_NOMARK") != "" {
		env = "AIRSOCK_MEMBOUND_CHILD=1073741824"
	}
	addr, pid := startServerChild(t, "TestMemoryBoundNonReadingClients", env)

	probe := testutil.DialRcvbuf(t, addr, 0)
	defer probe.Close()
	testutil.EchoRoundTrips(t, probe, 50) // warm up before the baseline
	base := rssOf(t, pid)

	flood := testutil.StartFlood(t, addr, clients, perClient)
	// Wait until the clients' writes stall: the server has stopped reading.
	last, stalled := flood.WaitStalled(60 * time.Second)
	if !stalled {
		t.Errorf("the clients' writes did not stall within 60 s: the server reads without bound")
	}
	rss := rssOf(t, pid)
	lat := testutil.EchoRoundTrips(t, probe, 200) // others are still served meanwhile
	bound := base + int64(clients*2*(ringBound+backendHeld()))
	t.Logf("clients wrote %d MiB; server RSS %d MiB (baseline %d MiB, bound %d MiB); probe echo p50 %v p99 %v max %v",
		last>>20, rss>>20, base>>20, bound>>20, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	if rss > bound {
		t.Fatalf("server RSS %d MiB over the bound %d MiB", rss>>20, bound>>20)
	}
}

// startServerChild runs this test binary again for test alone, with env
// added, as a server in a child process: it returns the address the child
// prints and its pid. The child serves until its stdin closes, which
// t.Cleanup does (killing it if it lingers 20 s).
func startServerChild(t *testing.T, test, env string) (addr string, pid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child address: %v", err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid
}

// rssOf reads a process's resident set size in bytes.
func rssOf(t *testing.T, pid int) int64 {
	n, err := testutil.RSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// memboundChild is the echo server with the high-water mark from the
// environment, serving until stdin closes.
func memboundChild() {
	hw, _ := strconv.Atoi(os.Getenv("AIRSOCK_MEMBOUND_CHILD"))
	serveEchoChild(Config{Loops: 2, WriteHighWater: hw, WriteLowWater: hw / 4, Logger: quiet})
}

// serveEchoChild is the server of a test's child process: an echo server
// on 127.0.0.1 that prints its address and serves until stdin closes.
func serveEchoChild(cfg Config) {
	e, err := New(cfg)
	if err != nil {
		panic(err)
	}
	ln, err := e.Listen("tcp", "127.0.0.1:0", Funcs{Data: func(c *Conn) {
		b, _ := c.Next(-1)
		c.Write(b)
	}})
	if err != nil {
		panic(err)
	}
	os.Stdout.WriteString(ln.Addr().String() + "\n")
	io.Copy(io.Discard, os.Stdin)
	e.Close()
}
