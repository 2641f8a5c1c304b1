//go:build linux

// Command udpgso measures what UDP GSO and GRO would save a bulk sender:
// the sending thread's CPU per 1,200-byte datagram to one loopback peer,
// sending 200,000 with sendmmsg of 64 against sendmsg with UDP_SEGMENT
// carrying 48 segments (all of them must fit in 64 KiB), the receiver
// reading with recvmmsg with and without UDP_GRO. Linux only; a probe for
// issue 12 (bench/results/issue12/gso.md), not part of airsock:
//
//	go run ./bench/probes/udpgso mmsg|gso [gro]
package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	size  = 1200
	batch = 64
	total = 200000
)

func cpu() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	runtime.LockOSThread()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: udpgso mmsg|gso [gro]")
		os.Exit(2)
	}
	mode := os.Args[1]
	rx, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	if len(os.Args) > 2 && os.Args[2] == "gro" {
		if err := unix.SetsockoptInt(rx, unix.IPPROTO_UDP, unix.UDP_GRO, 1); err != nil {
			panic(err)
		}
	}
	unix.Bind(rx, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	sa, _ := unix.Getsockname(rx)
	tx, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	unix.Connect(tx, sa)
	got := make(chan [2]int64)
	go func() { // receiver: counts bytes until total*size
		buf := make([]byte, 65536*batch)
		var bytes, calls int64
		msgs := make([]unix.Mmsghdr, batch)
		iovs := make([]unix.Iovec, batch)
		for i := range msgs {
			iovs[i].Base = &buf[i*65536]
			iovs[i].SetLen(65536)
			msgs[i].Hdr.Iov = &iovs[i]
			msgs[i].Hdr.SetIovlen(1)
		}
		deadline := time.Now().Add(3 * time.Second)
		for bytes < total*size && time.Now().Before(deadline) { // loopback may drop some under a burst
			r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(rx), uintptr(unsafe.Pointer(&msgs[0])), batch, unix.MSG_DONTWAIT, 0, 0)
			if e != 0 {
				continue
			}
			calls++
			for i := 0; i < int(r); i++ {
				bytes += int64(msgs[i].Len)
			}
		}
		got <- [2]int64{bytes, calls}
	}()
	payload := make([]byte, size*batch)
	start, c0 := time.Now(), cpu()
	sent := 0
	msgs := make([]unix.Mmsghdr, batch)
	iovs := make([]unix.Iovec, batch)
	for i := range msgs {
		iovs[i].Base = &payload[i*size]
		iovs[i].SetLen(size)
		msgs[i].Hdr.Iov = &iovs[i]
		msgs[i].Hdr.SetIovlen(1)
	}
	ctrl := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&ctrl[0]))
	h.Level, h.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&ctrl[unix.CmsgLen(0)])) = size
	for sent < total {
		switch mode {
		case "mmsg":
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(tx), uintptr(unsafe.Pointer(&msgs[0])), batch, 0, 0, 0)
			if e != 0 && e != syscall.ENOBUFS {
				panic(e)
			}
			sent += int(r)
		case "gso": // 48 segments: the whole send must stay under 64 KiB
			if err := unix.Sendmsg(tx, payload[:48*size], ctrl, nil, 0); err != nil && err != syscall.ENOBUFS {
				panic(err)
			}
			sent += 48
		}
		if (sent/48)%16 == 0 {
			time.Sleep(100 * time.Microsecond) // let the receiver keep up: loss would blur the figure
		}
	}
	sendCPU := cpu() - c0
	r := <-got
	fmt.Printf("mode=%s gro=%v sent=%d received_bytes=%d recv_calls=%d sender_cpu_per_datagram=%.2fus elapsed=%v\n",
		mode, len(os.Args) > 2, sent, r[0], r[1], float64(sendCPU.Nanoseconds())/float64(sent)/1000, time.Since(start).Round(time.Millisecond))
}
