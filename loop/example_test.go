package loop_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/airsock/airsock/loop"
)

// An upper-casing line server: OnData consumes whole lines in place and
// leaves a partial one for the next call; a client speaks to it over
// loopback.
func Example() {
	e, err := loop.New(loop.Config{Loops: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Shutdown(context.Background())
	ln, err := e.Listen("tcp", "127.0.0.1:0", loop.Funcs{
		Data: func(c *loop.Conn) {
			for {
				buf, _ := c.Peek(0)
				i := strings.IndexByte(string(buf), '\n')
				if i < 0 {
					return // the rest of the line comes with the next bytes
				}
				line, _ := c.Next(i + 1)
				c.Write([]byte(strings.ToUpper(string(line))))
			}
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	fmt.Fprint(nc, "hello, ")
	fmt.Fprint(nc, "loop\nsecond line\n")
	r := bufio.NewReader(nc)
	for range 2 {
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(line)
	}
	// Output:
	// HELLO, LOOP
	// SECOND LINE
}
