// Command airsock tries airsock out and measures servers: it serves a
// protocol on airsock's event loop (or on gnet, nbio or Go's net package, for
// comparison), load-tests any server with a closed- or open-loop
// generator that can verify every reply byte, merges latency logs, and
// runs a self-contained demo.
//
//	airsock serve --proto echo --backend loop --addr 127.0.0.1:8087
//	airsock load --addr 127.0.0.1:8087 -c 50 --duration 10s --verify
//	airsock serve --udp --backend loop --addr 127.0.0.1:8088
//	airsock load --udp --addr 127.0.0.1:8088 -c 100 --depth 16 --size 1200
//	airsock merge run1.hlog run2.hlog
//	airsock demo
//
// Each command has its own flags: airsock <command> -h.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// commands maps a command name to its implementation: args are those after
// the name; the result is the process's exit code.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"serve": runServe,
	"load":  runLoad,
	"merge": runMerge,
	"demo":  runDemo,
	"bench": runBench,
}

const usage = `usage: airsock <command> [flags]

commands:
  serve   serve echo, discard or RESP on a backend (loop, serversocket, gnet, nbio, net); UDP echo with --udp
  load    load-test a server: closed or open loop, optionally verifying every byte; UDP flows with --udp
  merge   merge HdrHistogram interval logs (.hlog) into one summary
  demo    start an echo server in-process and drive it for a few seconds
  bench   run the comparison matrix against gnet, nbio, net and redis-server (see bench/README.md)

Run 'airsock <command> -h' for the flags of a command.
`

func main() {
	// The first SIGINT or SIGTERM cancels ctx: serve drains, load stops
	// early and still prints its summary. A second one kills as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a command and returns the exit code: 0 success, 1
// failure, 2 bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "airsock: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
