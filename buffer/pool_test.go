package buffer

import "testing"

func TestPoolGetSizes(t *testing.T) {
	var p Pool
	for _, c := range []struct{ size, want int }{
		{-1, MinSize}, {0, MinSize}, {1, MinSize}, {MinSize - 1, MinSize},
		{MinSize, MinSize}, {MinSize + 1, 2 * MinSize}, {1000, 1024},
		{4096, 4096}, {4097, 8192}, {MaxSize, MaxSize}, {MaxSize + 1, 2 * MaxSize},
	} {
		b := p.Get(c.size)
		if len(b) != c.want || cap(b) != c.want {
			t.Errorf("Get(%d): len %d cap %d, want %d", c.size, len(b), cap(b), c.want)
		}
		p.Put(b)
	}
}

func TestPoolPutReuses(t *testing.T) {
	eventually(t, "Get returns the array given to Put", func() bool {
		var p Pool
		b := p.Get(3000)
		p.Put(b[:0]) // length does not matter, capacity does
		return arrayOf(p.Get(2049)) == arrayOf(b)
	})
}

func TestPoolPutDrops(t *testing.T) {
	for _, size := range []int{1000, MinSize / 2, 3 * MinSize} {
		var p Pool
		b := make([]byte, size)
		for range 8 {
			p.Put(b)
		}
		for range 8 {
			if got := p.Get(size); arrayOf(got) == arrayOf(b) {
				t.Fatalf("cap %d: Put kept a slice outside the size classes", size)
			}
		}
	}
}

func TestPoolNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops Puts under -race")
	}
	var p Pool
	p.Put(p.Get(4096))
	if n := testing.AllocsPerRun(1000, func() { p.Put(p.Get(4096)) }); n != 0 {
		t.Fatalf("Get+Put: %v allocs/op, want 0", n)
	}
}

func TestPoolIdle(t *testing.T) {
	var p Pool
	if p.Idle() != 0 {
		t.Fatalf("new pool: Idle %d", p.Idle())
	}
	a, b := p.Get(1000), p.Get(5000)
	if p.Idle() != 0 {
		t.Fatalf("Gets from an empty pool: Idle %d, want 0", p.Idle())
	}
	p.Put(a)
	if p.Idle() != 1024 {
		t.Fatalf("after Put of 1024: Idle %d", p.Idle())
	}
	p.Put(b[:10]) // capacity counts, not length
	if p.Idle() != 1024+8192 {
		t.Fatalf("after Put of 8192: Idle %d, want %d", p.Idle(), 1024+8192)
	}
	p.Put(make([]byte, 1000))      // not a size class: dropped, not counted
	p.Put(make([]byte, MinSize/2)) // too small: dropped
	if p.Idle() != 1024+8192 {
		t.Fatalf("after dropped Puts: Idle %d, want %d", p.Idle(), 1024+8192)
	}
	seen := p.Idle()
	p.Put(make([]byte, 2048)) // put while a scavenge runs: stays counted
	p.ForgetIdle(seen)
	if p.Idle() != 2048 {
		t.Fatalf("after ForgetIdle of what was seen: Idle %d, want the 2048 put since", p.Idle())
	}
	p.ForgetIdle(1 << 20) // more than counted: the count stops at 0
	if p.Idle() != 0 {
		t.Fatalf("after ForgetIdle of more than the count: Idle %d", p.Idle())
	}
	p.Put(make([]byte, 4096))
	if p.Idle() != 4096 {
		t.Fatalf("a Put after forgetting too much: Idle %d, want 4096 (no debt left below 0)", p.Idle())
	}
	p.ForgetIdle(4096)
	// Gets the pool serves from what was Put before the collections take
	// the count below zero; Idle reports 0, not a negative size.
	for range 4 {
		p.Get(1024)
		p.Get(8192)
	}
	if p.Idle() != 0 {
		t.Fatalf("Gets after ForgetIdle: Idle %d, want 0", p.Idle())
	}
}

func TestPoolIdleFallsOnGet(t *testing.T) {
	eventually(t, "a Get served from the pool lowers Idle", func() bool {
		var p Pool
		p.Put(p.Get(4096))
		if p.Idle() != 4096 {
			t.Fatalf("after Put: Idle %d, want 4096", p.Idle())
		}
		p.Get(4096)
		return p.Idle() == 0
	})
}
