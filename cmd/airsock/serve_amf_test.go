package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/airsock/airsock/internal/backend"
)

// TestServeAMFEcho: `serve --proto amf-echo` on every backend answers
// `load --proto amf-echo --verify`: each object decoded and encoded again
// by the server comes back byte for byte, none lost; objects of 300 KB,
// longer than the loop's and serversocket's input bound, too (the server
// reserves room for them as they arrive).
func TestServeAMFEcho(t *testing.T) {
	verified := regexp.MustCompile(`verified [1-9][0-9]* bytes`)
	for _, b := range backend.Names() {
		t.Run(b, func(t *testing.T) {
			s := startServe(t, "--backend", b, "--proto", "amf-echo", "--addr", "127.0.0.1:0", "--loops", "1")
			for _, load := range [][]string{{"-c", "8", "--depth", "4", "--size", "3000"}, {"-c", "2", "--depth", "2", "--size", "300000"}} {
				args := append([]string{"load", "--proto", "amf-echo", "--addr", s.addr}, load...)
				code, out, errOut := cli(t, append(args, "--duration", "300ms", "--warmup", "100ms", "--verify", "--loops", "1")...)
				if code != 0 || !strings.Contains(out, "lost 0") || !verified.MatchString(out) {
					t.Fatalf("load --proto amf-echo %v against %s: exit %d\n%s\n%s", load, b, code, out, errOut)
				}
			}
		})
	}
}
