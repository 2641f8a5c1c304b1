package amf

// index maps keys to table positions for the encoder's reference tables:
// a message has few strings, objects and traits, which are found faster
// by comparing them in a slice than by hashing, so the map is made only
// once a table passes linearEntries, and kept (cleared) for later values.
type index[K comparable] struct {
	keys   []K
	vals   []int
	m      map[K]int
	mapped bool
}

const linearEntries = 32

func (x *index[K]) get(k K) (int, bool) {
	if x.mapped {
		v, ok := x.m[k]
		return v, ok
	}
	for i, key := range x.keys {
		if key == k {
			return x.vals[i], true
		}
	}
	return 0, false
}

func (x *index[K]) put(k K, v int) {
	if x.mapped {
		x.m[k] = v
		return
	}
	x.keys, x.vals = append(x.keys, k), append(x.vals, v)
	if len(x.keys) > linearEntries {
		if x.m == nil {
			x.m = make(map[K]int, 2*len(x.keys))
		}
		for i, key := range x.keys {
			x.m[key] = x.vals[i]
		}
		x.mapped = true
		clear(x.keys)
		x.keys, x.vals = x.keys[:0], x.vals[:0]
	}
}

func (x *index[K]) len() int {
	if x.mapped {
		return len(x.m)
	}
	return len(x.keys)
}

func (x *index[K]) reset() {
	clear(x.keys)
	x.keys, x.vals = x.keys[:0], x.vals[:0]
	if x.mapped {
		clear(x.m)
		x.mapped = false
	}
}
