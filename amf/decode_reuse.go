package amf

// Reuse: a decoder may hand out again the maps of the anonymous objects it
// decoded before, and ByteArrays in the input itself, for a caller that is
// done with each value before it decodes the next (or changes the input). An echo or a proxy that re-encodes at once then
// allocates a map's header and table once instead of per object, and the
// collector, paced by allocation, runs that much less.

const (
	reuseMaps   = 64 // maps kept for reuse, at most
	reuseMapLen = 32 // a map that held more is not kept: its table stays large
)

// SetReuse turns reuse on or off (off by default). With it on, a value
// returned by Decode or DecodeAMF0 must not be used once the next Decode or
// DecodeAMF0 of this decoder has begun: its maps (anonymous objects, of any
// depth, and the map fields a typed object took from them) may be cleared
// and filled with the next value's members. Nor once the input given to
// Decode changes: its ByteArrays are that input's bytes, not copies. The
// decoder's goroutine.
func (d *Decoder) SetReuse(on bool) {
	d.reuse = on
	if !on {
		d.spareMaps, d.madeMaps = nil, nil
	}
}

// newMap returns an empty map for an anonymous object: a spare one when
// reusing.
func (d *Decoder) newMap() map[string]any {
	if !d.reuse {
		return map[string]any{}
	}
	var m map[string]any
	if n := len(d.spareMaps); n > 0 {
		m = d.spareMaps[n-1]
		d.spareMaps = d.spareMaps[:n-1]
	} else {
		m = map[string]any{}
	}
	if len(d.madeMaps) < reuseMaps {
		d.madeMaps = append(d.madeMaps, m)
	}
	return m
}

// recycle makes the maps of the last value spare, emptied so that they
// hold nothing of it; called as a Decode begins.
func (d *Decoder) recycle() {
	if !d.reuse {
		return
	}
	for _, m := range d.madeMaps {
		if len(m) <= reuseMapLen && len(d.spareMaps) < reuseMaps {
			clear(m)
			d.spareMaps = append(d.spareMaps, m)
		}
	}
	clear(d.madeMaps)
	d.madeMaps = d.madeMaps[:0]
}
