package proto

import (
	"encoding/binary"
	"slices"
)

// Payloads are a stream of 64-bit words, each a mix of (connection, seq,
// word index): cheap to make and to check 8 bytes at a time, and different
// for every request, so an echoed byte from the wrong request, the wrong
// connection or the wrong offset is caught.

// mix64 is a bijective 64-bit finaliser (the SplitMix64 constants): nearby
// inputs give unrelated outputs.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const golden = 0x9e3779b97f4a7c15

func patternSeed(conn, seq uint64) uint64 { return mix64(conn*golden ^ mix64(seq+golden)) }

// patternWord is word i of a payload. It mixes less than mix64, for speed
// on large payloads; every step is still a bijection, so distinct
// (seed, i) give distinct words.
func patternWord(seed uint64, i int) uint64 {
	x := seed + uint64(i)*golden
	x ^= x >> 32
	x *= 0xd6e8feb86659fd93
	x ^= x >> 29
	return x
}

// AppendPattern appends the size-byte payload of request seq on connection
// conn to dst. It may be called from any goroutine.
func AppendPattern(dst []byte, conn, seq uint64, size int) []byte {
	if size <= 0 {
		return dst
	}
	dst = slices.Grow(dst, size)
	start := len(dst)
	dst = dst[:start+size]
	p := dst[start:]
	seed := patternSeed(conn, seq)
	i := 0
	for ; i+8 <= size; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], patternWord(seed, i/8))
	}
	if i < size {
		w := patternWord(seed, i/8)
		for ; i < size; i++ {
			p[i] = byte(w >> (8 * (i % 8)))
		}
	}
	return dst
}

// PatternMismatch compares b with the payload of (conn, seq) from payload
// offset off on, and returns the index in b of the first byte that differs,
// or -1 if all match. It may be called from any goroutine.
func PatternMismatch(b []byte, conn, seq uint64, off int) int {
	seed := patternSeed(conn, seq)
	i := 0
	// Bytes before the next word boundary, then whole words, then the rest.
	for ; i < len(b) && (off+i)%8 != 0; i++ {
		if b[i] != patternByte(seed, off+i) {
			return i
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:]) != patternWord(seed, (off+i)/8) {
			break // the byte loop below finds which byte
		}
	}
	for ; i < len(b); i++ {
		if b[i] != patternByte(seed, off+i) {
			return i
		}
	}
	return -1
}

func patternByte(seed uint64, off int) byte { return byte(patternWord(seed, off/8) >> (8 * (off % 8))) }
