package proto_test

import (
	"bufio"
	"fmt"
	"io"
	"net"

	"github.com/airsock/airsock/internal/proto"
)

// A RESP server on one end of an in-memory connection, with ServeConn as
// the Go net backend.
func ExampleServeConn() {
	server, client := net.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- proto.ServeConn(server, proto.NewRESP(proto.Config{}), 0)
		server.Close()
	}()

	r := bufio.NewReader(client)
	for _, req := range []string{"SET greeting hello\r\n", "GET greeting\r\n", "QUIT\r\n"} {
		io.WriteString(client, req)
		line, _ := r.ReadString('\n')
		fmt.Printf("%q\n", line)
		if line[0] == '$' {
			line, _ = r.ReadString('\n')
			fmt.Printf("%q\n", line)
		}
	}
	fmt.Println(<-done)
	// Output:
	// "+OK\r\n"
	// "$5\r\n"
	// "hello\r\n"
	// "+OK\r\n"
	// proto: client sent QUIT
}

// A load generator's view of one connection: encode requests, then match
// and verify each reply.
func ExampleClient() {
	cl, _ := proto.NewClient("echo", proto.ClientConfig{Conn: 7, Size: 4, Verify: true})
	req := cl.AppendRequest(nil, 0)
	req = cl.AppendRequest(req, 1)

	reply := append([]byte(nil), req...) // what an echo server sends back
	reply[6] ^= 0xff                     // corrupted on the way
	for len(reply) > 0 {
		n, ok, err := cl.ParseReply(reply)
		if err != nil {
			fmt.Println(err.(*proto.MismatchError).Seq, err.(*proto.MismatchError).Offset)
			return
		}
		if !ok {
			return
		}
		reply = reply[n:]
	}
	// Output: 1 2
}
