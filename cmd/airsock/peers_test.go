package main

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// installs runs each Debian package's installation once per test binary.
var installs sync.Map // package name -> *installOnce

type installOnce struct {
	once sync.Once
	note string // why the installation failed, if it did
}

// debianTool finds the program name, a real peer of a test. If it is
// missing and the test runs as root where apt-get exists, it installs
// Debian's package pkg once (CI installs it beforehand); otherwise the
// test is skipped with a message.
func debianTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	v, _ := installs.LoadOrStore(pkg, &installOnce{})
	in := v.(*installOnce)
	in.once.Do(func() {
		if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", pkg)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			in.note = "; apt-get install " + pkg + " failed: " + err.Error() + ": " + lastLine(string(out))
		}
	})
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install %s)%s", name, pkg, in.note)
	}
	return p
}
