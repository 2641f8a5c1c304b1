package serversocket

import "github.com/airsock/airsock/loop"

// WatchingOutput reports whether s's connection has the handler that
// receives the loop's progress reports (socketWatcher), for the tests of
// package serversocket_test. Call it on the socket's loop goroutine.
func WatchingOutput(s *Socket) bool {
	c := s.conn.Load()
	return c != nil && watching(c)
}

// AskWatchingOutput is WatchingOutput from any goroutine: the answer comes
// on the channel once the socket's loop has run the question.
func AskWatchingOutput(s *Socket) <-chan bool {
	answer := make(chan bool, 1)
	if c := s.conn.Load(); c != nil {
		c.Run(func(c *loop.Conn) { answer <- watching(c) })
	}
	return answer
}

func watching(c *loop.Conn) bool {
	_, ok := c.Context().(*socketWatcher)
	return ok
}
