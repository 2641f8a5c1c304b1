package loop

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The guard of a per-loop listening group.
//
// On Linux a socket may bind a port that other sockets hold if both have
// SO_REUSEADDR and the holder is not listening, or if both have
// SO_REUSEPORT and belong to the same user. The per-loop sockets have both
// options (SO_REUSEPORT to share the port among the loops, SO_REUSEADDR so
// that the TIME_WAIT connections of a previous server do not block a
// restart). So, unguarded, the group is open to any other SO_REUSEPORT
// socket of the user, and, until Serve, to any SO_REUSEADDR socket too: a
// second server would start and split the traffic. The first is inherent
// (it is also what JoinReusePort uses) and only the newcomer can decline:
// it must find out that the port is held. The second needs the holder to
// exclude it.
//
// Probing with a throw-away socket is not enough: two servers starting at
// once can both probe a free port before either binds its group, and then
// both bind (TestReusePortBindRace, four engines binding one free port at
// once, catches that in its first round). The guard is the probe that stays: bound first with
// neither option, it succeeds only if nobody holds the port, and while it
// holds the port nobody else can bind it. Then setting SO_REUSEPORT on it
// lets in the group (and anyone joining on purpose, with SO_REUSEPORT), but
// still not a socket without it, because the guard has no SO_REUSEADDR; the
// kernel checks the options a holder has at the time of each bind. The
// guard never listens, so no connection is ever given to it, and it lives
// as long as the listener, so the port is refused in every state from Bind
// to Close. With port 0, the guard picks a port nobody else uses.
//
// One gap remains: connections that a server closed first stay in
// TIME_WAIT on its port for a minute and make the exclusive bind fail. The
// guard then retries with SO_REUSEADDR, which is the check package net makes
// and which TIME_WAIT lets through, and clears the option at once; between
// that bind and the clearing another server's probe may pass too.

// bindGuard binds the guard of a group of SO_REUSEPORT sockets for ep (with
// port 0, to a port the kernel picks), before the group. A port that any
// other socket holds fails with EADDRINUSE.
func bindGuard(ep endpoint) (int, error) {
	fd, err := bindExclusive(ep)
	if err != nil {
		return -1, err
	}
	if err := setReuse(fd, unix.SO_REUSEPORT, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// bindExclusive binds a socket for ep with neither SO_REUSEADDR nor
// SO_REUSEPORT, which no other socket can share the port with, falling back
// to the check package net makes when the port is held (TIME_WAIT may be
// all that holds it). A port that any other socket holds fails with
// EADDRINUSE. It is also the one socket of a Linux listener without
// SO_REUSEPORT, which Serve gives SO_REUSEADDR just before listening: until
// then a socket with SO_REUSEADDR would let package net's bind through.
func bindExclusive(ep endpoint) (int, error) {
	fd, err := bindProbe(ep, false)
	if errors.Is(err, unix.EADDRINUSE) {
		fd, err = bindProbe(ep, true)
		if err == nil {
			if err = setReuse(fd, unix.SO_REUSEADDR, false); err != nil {
				unix.Close(fd)
				return -1, err
			}
		}
	}
	return fd, err
}

// bindProbe binds a stream socket for ep without SO_REUSEPORT, with
// SO_REUSEADDR if reuseAddr, and otherwise as bindSocket does: the same
// IPV6_V6ONLY, so that the probe covers the addresses the group will.
func bindProbe(ep endpoint, reuseAddr bool) (int, error) {
	return bindWith(ep, reuseAddr, false)
}
