// Package uring is a small io_uring binding over golang.org/x/sys/unix: the
// kernel ABI's structs and constants, a Ring that sets up and maps the
// submission and completion queues, and the preparation of the operations
// airsock's loop needs (nop, recv, send, accept, poll, cancel, close), with
// provided buffer rings. It imports nothing else of airsock's; package loop
// builds its completion backend on it (loop/uring_linux.go), beside the
// readiness pollers of package poller.
//
// A Ring belongs to one goroutine, which must stay on one OS thread
// (runtime.LockOSThread) when the ring is set up with SetupSingleIssuer: the
// kernel then refuses submissions from any other thread (EEXIST). Memory
// the kernel reads or writes asynchronously (recv and send buffers) must not
// live on a goroutine stack and must stay alive, and unmoved, until its
// completion is reaped.
//
// Linux only; elsewhere the package is empty.
package uring
