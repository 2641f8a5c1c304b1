package buffer

import "testing"

// Each benchmark reports allocations; all are 0 allocs/op in steady state
// (the pool ones only without -race, where sync.Pool drops Puts on purpose).

func BenchmarkPoolGetPut(b *testing.B) {
	var p Pool
	b.ReportAllocs()
	for b.Loop() {
		p.Put(p.Get(4096))
	}
}

func BenchmarkRingWriteNext(b *testing.B) {
	var r Ring
	r.Init(new(Pool), 0)
	defer r.Reset()
	msg := pattern(300, 1)
	r.Write(msg)
	r.Discard(1) // one byte stays behind, so writes wrap and Next re-linearises
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		r.Write(msg)
		if _, err := r.Next(len(msg)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRingTransfer moves 4096 bytes from an output ring to an input
// ring per op, as the loop's writev and readv see them: Peek and Discard on
// one side, Free and Commit on the other.
func BenchmarkRingTransfer(b *testing.B) {
	var out, in Ring
	out.Init(new(Pool), 0)
	in.Init(new(Pool), 0)
	defer out.Reset()
	defer in.Reset()
	msg := pattern(4096, 2)
	in.Write(msg) // warm: in keeps a 4096-byte array, as after a few reads
	in.Discard(-1)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Write(msg)
		if n := transfer(&in, &out); n != len(msg) {
			b.Fatalf("transfer: %d bytes, want %d", n, len(msg))
		}
		in.Discard(-1)
	}
}

// BenchmarkRingTransferWrapped is BenchmarkRingTransfer with both rings
// wrapped, so each side handles two slices.
func BenchmarkRingTransferWrapped(b *testing.B) {
	var out, in Ring
	out.Init(new(Pool), 0)
	in.Init(new(Pool), 0)
	defer out.Reset()
	defer in.Reset()
	roundTrip := wrappedRoundTrip(b, &out, &in)
	b.SetBytes(3100)
	b.ReportAllocs()
	for b.Loop() {
		roundTrip()
	}
}
