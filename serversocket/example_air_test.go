package serversocket_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// The ServerSocket sample of the AIR documentation: bind, listen, keep the
// latest client, show what it sends as UTF-8 text, and "Send" a reply with
// WriteUTFBytes and Flush while the client is connected. The sample's text
// area becomes fmt.Println; its Send button, the send func.
func ExampleServerSocket() {
	var latest atomic.Pointer[serversocket.Socket] // listeners run on loops: share through atomics
	shown := make(chan string, 8)                  // what the sample's log area shows
	server, err := serversocket.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	server.AddEventListener(serversocket.Connect, func(e serversocket.Eventer) {
		client := e.(*serversocket.ServerSocketConnectEvent).Socket
		latest.Store(client)
		fmt.Println("connection from", client.RemoteAddress())
		client.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			text, _ := client.ReadUTFBytes(client.BytesAvailable())
			shown <- "received: " + text
		}, 0)
	}, 0)
	if err := server.Bind(0, "127.0.0.1"); err != nil { // the sample binds "0.0.0.0"
		fmt.Println(err)
		return
	}
	server.Listen(0)
	fmt.Println("listening") // the sample logs LocalAddress():LocalPort()
	send := func(message string) {
		if client := latest.Load(); client != nil && client.Connected() {
			client.WriteUTFBytes(message)
			client.Flush()
		}
	}

	// A client in the example itself.
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(server.LocalPort())))
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("Hello from the client"))
	fmt.Println(<-shown)
	send("Hello from the server")
	reply := make([]byte, len("Hello from the server"))
	io.ReadFull(conn, reply)
	fmt.Println("client got:", string(reply))

	conn.Close()
	server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	serversocket.Shutdown(ctx) // stops the default engine New started
	// Output:
	// listening
	// connection from 127.0.0.1
	// received: Hello from the client
	// client got: Hello from the server
}

// An echo server: every byte a client sends goes back to it. Writes made in
// a listener leave when the listener returns.
func ExampleSocket_echo() {
	engine, err := loop.New(loop.Config{Loops: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()
	server := serversocket.NewOn(engine)
	server.AddEventListener(serversocket.Connect, func(e serversocket.Eventer) {
		s := e.(*serversocket.ServerSocketConnectEvent).Socket
		var buf []byte // reused: this socket's listeners run on one goroutine
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			buf, _ = s.ReadBytes(buf[:0], 0, 0)
			s.WriteBytes(buf, 0, 0)
		}, 0)
	}, 0)
	if err := server.Bind(0, "127.0.0.1"); err != nil {
		fmt.Println(err)
		return
	}
	server.Listen(0)

	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(server.LocalPort())))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write([]byte("echo, echo"))
	reply := make([]byte, 10)
	io.ReadFull(conn, reply)
	fmt.Println(string(reply))
	// Output: echo, echo
}
