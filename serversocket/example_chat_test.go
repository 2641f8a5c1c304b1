package serversocket_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/airsock/airsock/amf"
	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// ChatMessage is the chat's object, registered under the class alias the
// AS3 client registers for its own class (registerClassAlias).
type ChatMessage struct {
	From string `amf:"from"`
	Text string `amf:"text"`
}

// An AIR-style chat: clients that speak XMLSocket (text messages, each
// ended by a 0 byte) and clients that send objects with writeObject (AMF
// 3, a registered class) meet in one room. The server relays every XML
// message to every XML client and every object to every object client,
// and tells the object clients what the XML ones said.
func Example_chat() {
	if err := amf.RegisterClassAlias("chat.Message", ChatMessage{}); err != nil {
		fmt.Println(err)
		return
	}
	engine, err := loop.New(loop.Config{Loops: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()

	var mu sync.Mutex // the room, shared by the loops' listeners
	var xmlClients []*serversocket.XMLSocket
	var objectClients []*serversocket.Socket
	joined := make(chan struct{}, 3) // the server tells each arrival on its own loop
	broadcast := func(m *ChatMessage) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range objectClients {
			s.WriteObject(m) // safe from any goroutine; flushed below
			s.Flush()
		}
	}

	xmlServer := serversocket.NewOn(engine)
	xmlServer.AddEventListener(serversocket.Connect, func(e serversocket.Eventer) {
		x := serversocket.NewXMLSocketFor(e.(*serversocket.ServerSocketConnectEvent).Socket)
		mu.Lock()
		xmlClients = append(xmlClients, x)
		mu.Unlock()
		joined <- struct{}{}
		x.AddEventListener(serversocket.Data, func(e serversocket.Eventer) {
			text := e.(*serversocket.DataEvent).Data
			mu.Lock()
			for _, c := range xmlClients {
				c.Send(text)
			}
			mu.Unlock()
			broadcast(&ChatMessage{From: "xml", Text: text})
		}, 0)
	}, 0)
	objectServer := serversocket.NewOn(engine)
	objectServer.AddEventListener(serversocket.Connect, func(e serversocket.Eventer) {
		s := e.(*serversocket.ServerSocketConnectEvent).Socket
		mu.Lock()
		objectClients = append(objectClients, s)
		mu.Unlock()
		joined <- struct{}{}
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			for s.BytesAvailable() > 0 {
				v, err := s.ReadObject()
				if err != nil {
					return // an EOFError: the rest of the object comes later
				}
				if m, ok := v.(*ChatMessage); ok {
					broadcast(m)
				}
			}
		}, 0)
	}, 0)
	for _, srv := range []*serversocket.ServerSocket{xmlServer, objectServer} {
		if err := srv.Bind(0, "127.0.0.1"); err != nil {
			fmt.Println(err)
			return
		}
		srv.Listen(0)
	}

	// Two XMLSocket clients and one object client, as AIR apps would be.
	xmlInbox := func(name string) (*serversocket.XMLSocket, chan string) {
		x := serversocket.NewXMLSocketOn(engine)
		inbox := make(chan string, 8)
		connected := make(chan struct{})
		x.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { close(connected) }, 0)
		x.AddEventListener(serversocket.Data, func(e serversocket.Eventer) {
			inbox <- name + " got " + e.(*serversocket.DataEvent).Data
		}, 0)
		x.Connect("127.0.0.1", xmlServer.LocalPort())
		<-connected
		return x, inbox
	}
	alice, aliceInbox := xmlInbox("alice")
	_, bobInbox := xmlInbox("bob")
	carol := serversocket.NewSocketOn(engine)
	carolInbox := make(chan string, 8)
	connected := make(chan struct{})
	carol.AddEventListener(serversocket.Connect, func(serversocket.Eventer) { close(connected) }, 0)
	carol.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
		for carol.BytesAvailable() > 0 {
			v, err := carol.ReadObject()
			if err != nil {
				return
			}
			m := v.(*ChatMessage)
			carolInbox <- fmt.Sprintf("carol got an object from %s: %s", m.From, m.Text)
		}
	}, 0)
	carol.Connect("127.0.0.1", objectServer.LocalPort())
	<-connected
	for range 3 {
		<-joined
	}

	alice.Send(`<msg from="alice">hello, room</msg>`)
	fmt.Println(<-aliceInbox)
	fmt.Println(<-bobInbox)
	fmt.Println(<-carolInbox)
	carol.WriteObject(&ChatMessage{From: "carol", Text: "hi alice"})
	carol.Flush()
	fmt.Println(<-carolInbox)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	engine.Shutdown(ctx)
	// Output:
	// alice got <msg from="alice">hello, room</msg>
	// bob got <msg from="alice">hello, room</msg>
	// carol got an object from xml: <msg from="alice">hello, room</msg>
	// carol got an object from carol: hi alice
}
