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
