package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/airsock/airsock/internal/report"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string // in stdout or stderr
	}{
		{nil, 2, "usage: airsock <command>"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"-h"}, 0, "commands:"},
		{[]string{"serve", "-h"}, 0, "-backend"},
		{[]string{"load", "-h"}, 0, "-connect-rate"},
		{[]string{"merge", "-h"}, 0, "FILE.hlog"},
		{[]string{"demo", "-h"}, 0, "-duration"},
		{[]string{"serve", "--proto", "gopher"}, 2, `--proto "gopher"`},
		{[]string{"serve", "--backend", "nope"}, 2, `--backend "nope"`},
		{[]string{"serve", "--loops", "0"}, 2, "at least 1"},
		{[]string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{[]string{"serve", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"serve", "--io", "uring"}, 2, `--io "uring": want one of auto, epoll, kqueue, io_uring`},
		{[]string{"serve", "--backend", "gnet", "--io", "epoll"}, 2, "--io applies to the loop and serversocket backends, not gnet"},
		{[]string{"load", "--io", "iouring"}, 2, `--io "iouring"`},
		{[]string{"load", "-c", "0"}, 2, "at least 1"},
		{[]string{"load", "--duration", "soon"}, 2, "invalid value"},
		{[]string{"load", "--proto", "discard"}, 2, "--rate"},
		{[]string{"load", "--resp-cmd", "flush"}, 2, `--resp-cmd "flush"`},
		{[]string{"merge"}, 2, "no .hlog files"},
		{[]string{"merge", "/nonexistent.hlog"}, 1, "no such file"},
		{[]string{"demo", "--duration", "2m"}, 2, "--duration"},
	} {
		code, out, errOut := cli(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("airsock %q: exit %d, output %q%q; want exit %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := cli(t, "demo", "--duration", "1s")
	if code != 0 {
		t.Fatalf("demo exited %d: %s%s", code, out, errOut)
	}
	for _, want := range []string{"listening on 127.0.0.1:", ", 0 errors", "0 lost", "msgs/s", "p99.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// The demo dials its 200 connections while it runs for 1 s: on a
	// loaded machine some may still be connecting when it ends, which it
	// reports; what it reports must agree with the server.
	m := regexp.MustCompile(`(\d+) connections opened \((\d+) accepted`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Errorf("demo output lacks \"N connections opened (N accepted\" with N > 0:\n%s", out)
	} else if m[1] != "200" {
		t.Logf("the demo opened %s of its 200 connections in its 1 s (a loaded machine)", m[1])
	}
}

// loadJSONOut runs a load with --json and decodes its summary.
func loadJSONOut(t *testing.T, args ...string) (int, report.Summary, string) {
	t.Helper()
	code, out, errOut := cli(t, append([]string{"load", "--json"}, args...)...)
	var r report.Summary
	if code == 0 {
		r = decodeLoad(t, out)
	}
	return code, r, errOut
}

// decodeLoad reads the summary `airsock load --json` printed, which must
// hold the generator's counts.
func decodeLoad(t *testing.T, out string) report.Summary {
	t.Helper()
	var r report.Summary
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.LoadCounts == nil {
		t.Fatalf("load --json printed %q: %v", out, err)
	}
	return r
}
