package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/airsock/airsock/loop"
)

// newFlags returns a FlagSet for a command that reports errors instead of
// exiting, prints its help to stderr, and is headed by synopsis.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: airsock %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs. It returns -1 to go on, or the exit code:
// 0 after -h, 2 after a bad flag (flag has printed why and the usage).
func parse(fs *flag.FlagSet, args []string) int {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return -1
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	return 2
}

// usageError prints a usage problem found after parsing, and returns 2.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "airsock %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fmt.Fprintf(fs.Output(), "Run 'airsock %s -h' for help.\n", fs.Name())
	return 2
}

// oneOf checks that v is one of allowed.
func oneOf(name, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fmt.Errorf("--%s %q: want one of %s", name, v, strings.Join(allowed, ", "))
}

// noArgs reports stray positional arguments of a command that takes none.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// ioBackends are the values of serve's and load's --io: loop.Config.Backend's.
var ioBackends = []string{loop.BackendAuto, loop.BackendEpoll, loop.BackendKqueue, loop.BackendIOUring}
