package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airsock/airsock/internal/selfsigned"
)

// TestServeTLS: serve --tls-self-signed on every backend that serves TLS,
// and load --tls against it with the certificate trusted and every byte
// verified; gnet is refused with the reason.
func TestServeTLS(t *testing.T) {
	for _, b := range []string{"loop", "loop-uring", "serversocket", "serversocket-uring", "net", "nbio"} {
		t.Run(b, func(t *testing.T) {
			ca := filepath.Join(t.TempDir(), "ca.pem")
			s := startServe(t, "--backend", b, "--tls-self-signed", "--tls-self-signed-out", ca, "--addr", "127.0.0.1:0", "--loops", "1")
			if !strings.Contains(s.listening, " tls ") {
				t.Fatalf("the listening line does not say tls: %q", s.listening)
			}
			if line := s.line(t); !strings.HasPrefix(line, "tls: self-signed certificate") {
				t.Fatalf("serve's second line %q, want the certificate's", line)
			}
			code, out, errOut := cli(t, "load", "--tls", "--tls-ca", ca, "--addr", s.addr, "-c", "4", "--depth", "2",
				"--size", "3000", "--duration", "300ms", "--warmup", "100ms", "--verify", "--loops", "1")
			if code != 0 || !strings.Contains(out, "lost 0") {
				t.Fatalf("load --tls: exit %d\n%s\n%s", code, out, errOut)
			}
		})
	}
	code, _, errOut := cli(t, "serve", "--backend", "gnet", "--tls-self-signed", "--addr", "127.0.0.1:0")
	if code == 0 || !strings.Contains(errOut, "gnet has no TLS") {
		t.Fatalf("serve --backend gnet --tls-self-signed: exit %d, stderr %q", code, errOut)
	}
}

// TestServeTLSOpenSSL: Debian's openssl s_client, an independent TLS
// implementation, verifies the server's certificate and gets its lines
// echoed, on TLS 1.2 and 1.3. Skipped where openssl is missing.
func TestServeTLSOpenSSL(t *testing.T) {
	openssl := debianTool(t, "openssl", "openssl")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	s := startServe(t, "--tls-self-signed", "--tls-self-signed-out", ca, "--addr", "127.0.0.1:0", "--loops", "1")
	for _, v := range []string{"-tls1_2", "-tls1_3"} {
		cmd := exec.Command(openssl, "s_client", "-connect", s.addr, "-CAfile", ca, "-verify_return_error", "-quiet", v)
		cmd.Stdin = strings.NewReader("hello over " + v + "\n" + strings.Repeat("x", 20000) + "\n")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = &strings.Builder{}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan []string, 1)
		go func() {
			var lines []string
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64<<10), 64<<10)
			for len(lines) < 2 && sc.Scan() {
				lines = append(lines, sc.Text())
			}
			done <- lines
		}()
		var lines []string
		select {
		case lines = <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s: no echo within 30 s; stderr %s", v, cmd.Stderr)
		}
		cmd.Process.Kill()
		cmd.Wait()
		if len(lines) != 2 || lines[0] != "hello over "+v || lines[1] != strings.Repeat("x", 20000) {
			t.Fatalf("%s: echoed %d lines (%.40q...); stderr %s", v, len(lines), lines, cmd.Stderr)
		}
	}
}

// TestServeTLSFiles: --tls-cert and --tls-key serve the certificate in
// those files; the flags that exclude each other are refused.
func TestServeTLSFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeKeyPair(t, certFile, keyFile)
	s := startServe(t, "--tls-cert", certFile, "--tls-key", keyFile, "--addr", "127.0.0.1:0", "--loops", "1")
	pem, _ := os.ReadFile(certFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	tc.Close()
	for _, args := range [][]string{
		{"--tls-cert", certFile},
		{"--tls-self-signed", "--tls-cert", certFile, "--tls-key", keyFile},
		{"--tls-self-signed-out", filepath.Join(dir, "x.pem")},
		{"--udp", "--tls-self-signed"},
	} {
		code, _, errOut := cli(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
		if code != 2 {
			t.Errorf("serve %q: exit %d (stderr %q), want 2", args, code, errOut)
		}
	}
}

// writeKeyPair writes a self-signed certificate for localhost and its key
// as PEM files.
func writeKeyPair(t *testing.T, certFile, keyFile string) {
	t.Helper()
	c, err := selfsigned.Certificate("localhost")
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, selfsigned.PEM(c), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
