package proto

import (
	"hash/maphash"
	"sync"
)

// storeShards spreads keys over this many independently locked maps, so
// that event loops serving different connections rarely wait on each
// other.
const storeShards = 64

// store is the keyspace one RESP server shares between all its
// connections. Values are copies: the request bytes they come from are
// reused by the stream once Serve returns.
type store struct {
	seed   maphash.Seed
	shards [storeShards]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]*entry
	_  [48]byte // own cache line: neighbouring shards' locks do not contend
}

// entry is a pointer so that overwriting a key mutates it in place: a map
// assignment with a []byte key would allocate the key string each time.
type entry struct {
	val []byte
}

func newStore() *store {
	st := &store{seed: maphash.MakeSeed()}
	for i := range st.shards {
		st.shards[i].m = make(map[string]*entry)
	}
	return st
}

// shard returns key's shard, locked; the caller unlocks it.
func (st *store) lock(key []byte) *shard {
	sh := &st.shards[maphash.Bytes(st.seed, key)%storeShards]
	sh.mu.Lock()
	return sh
}

// set stores a copy of val under key, reusing the old value's memory when
// it fits and is not far too big.
func (sh *shard) set(key, val []byte) {
	if e := sh.m[string(key)]; e != nil { // no allocation: see Go's m[string(b)]
		if cap(e.val) >= len(val) && cap(e.val) <= 2*len(val)+64 {
			e.val = append(e.val[:0], val...)
			return
		}
		e.val = append([]byte(nil), val...)
		return
	}
	sh.m[string(key)] = &entry{val: append([]byte(nil), val...)}
}

func (sh *shard) get(key []byte) *entry { return sh.m[string(key)] }

func (sh *shard) del(key []byte) bool {
	if _, ok := sh.m[string(key)]; !ok {
		return false
	}
	delete(sh.m, string(key))
	return true
}
