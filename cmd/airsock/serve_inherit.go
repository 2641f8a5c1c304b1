package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The listening sockets `airsock serve` may be given instead of binding
// --addr, numbered from 3 (systemd's SD_LISTEN_FDS_START) as sd_listen_fds(3)
// describes:
//
//   - by systemd's socket activation: LISTEN_FDS=N and LISTEN_PID set to
//     this process's pid (a LISTEN_FDS meant for another process, or
//     without LISTEN_PID, is not ours). LISTEN_FDNAMES is ignored: serve
//     has one address, so every socket must be bound to the same one
//     (loop.Engine.FileListener refuses otherwise);
//   - by a predecessor's hand-over (serve_handover.go): AIRSOCK_INHERIT_FDS=N.
//     The parent cannot set LISTEN_PID, the child's pid being unknown
//     before the exec, hence a variable of our own.
//
// Either way the variables are unset once read, as sd_listen_fds does
// when asked to, so that a process this one starts (its own successor)
// never takes them for its own, and the descriptors are made
// close-on-exec: a successor gets its sockets from Files, as ExtraFiles.

const (
	listenFDsStart = 3 // SD_LISTEN_FDS_START
	inheritFDsEnv  = "AIRSOCK_INHERIT_FDS"
	readyFDEnv     = "AIRSOCK_READY_FD"      // the predecessor's readiness pipe
	metricsFDEnv   = "AIRSOCK_METRICS_FD"    // the predecessor's --metrics socket
	rebindAddrEnv  = "AIRSOCK_HANDOVER_JOIN" // --handover rebind: bind this address with --reuseport-join
	notifySocket   = "NOTIFY_SOCKET"
)

// inheritedFiles returns the listening sockets this process was given and
// who gave them ("systemd" or "handover"), or none. With required
// (serve --listen-fds) having none is an error.
func inheritedFiles(required bool) ([]*os.File, string, error) {
	n, from := 0, ""
	var err error
	if v, ok := os.LookupEnv(inheritFDsEnv); ok {
		from = "handover"
		n, err = strconv.Atoi(v)
	} else if v, ok := os.LookupEnv("LISTEN_FDS"); ok && os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid()) {
		from = "systemd"
		n, err = strconv.Atoi(v)
	}
	pid := os.Getenv("LISTEN_PID")
	for _, v := range []string{inheritFDsEnv, "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	switch {
	case from == "" && required:
		return nil, "", fmt.Errorf("--listen-fds: no sockets passed to this process (LISTEN_FDS for LISTEN_PID %q; this is pid %d)", pid, os.Getpid())
	case from == "":
		return nil, "", nil
	case err != nil || n < 1:
		return nil, "", fmt.Errorf("sockets passed by %s: bad count %v", from, err)
	}
	files := make([]*os.File, 0, n)
	for fd := listenFDsStart; fd < listenFDsStart+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			closeFiles(files)
			return nil, "", fmt.Errorf("socket %d of %d passed by %s: %w", fd-listenFDsStart+1, n, from, err)
		}
		unix.CloseOnExec(fd)
		files = append(files, os.NewFile(uintptr(fd), from+"-fd-"+strconv.Itoa(fd)))
	}
	return files, from, nil
}

// inheritedMetrics returns the --metrics socket a predecessor passed
// (AIRSOCK_METRICS_FD), or nil, and unsets the variable.
func inheritedMetrics() *os.File {
	v, ok := os.LookupEnv(metricsFDEnv)
	os.Unsetenv(metricsFDEnv)
	fd, err := strconv.Atoi(v)
	if !ok || err != nil || fd < listenFDsStart {
		return nil
	}
	unix.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "metrics")
}

// closeFiles closes every file of fs.
func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// reportServing tells whoever waits for this process to serve that it
// does: the predecessor of a hand-over (a line on its readiness pipe,
// AIRSOCK_READY_FD) and systemd (READY=1 and MAINPID, so that after a
// hand-over systemd follows the successor: Type=notify, NotifyAccess=all).
func reportServing() error {
	var errs []error
	if v, ok := os.LookupEnv(readyFDEnv); ok {
		os.Unsetenv(readyFDEnv)
		fd, err := strconv.Atoi(v)
		if err == nil {
			f := os.NewFile(uintptr(fd), "ready")
			_, err = f.WriteString("serving\n")
			f.Close()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("telling the predecessor: %w", err))
		}
	}
	if path := os.Getenv(notifySocket); path != "" {
		if err := sdNotify(path, fmt.Sprintf("READY=1\nMAINPID=%d\n", os.Getpid())); err != nil {
			errs = append(errs, fmt.Errorf("telling systemd: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sdNotify sends state to the service manager's notification socket (a
// datagram socket; a name starting with @ is abstract, as package net
// reads it).
func sdNotify(path, state string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(state))
	return err
}
