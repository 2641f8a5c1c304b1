package benchmatrix

import (
	"slices"
)

// Rounds are compared the way the bench protocol asks: medians with their
// spread, and ratios against a named baseline taken round by round (the
// two backends ran minutes apart at most) and then summarised by their
// median, so that drift of the shared machine between rounds cancels out.

// summary is the median and range of one figure over the rounds.
type summary struct {
	n             int
	med, min, max float64
}

// summarize returns the median and range of xs; n is 0 for none.
func summarize(xs []float64) summary {
	if len(xs) == 0 {
		return summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return summary{n: len(s), med: median(s), min: s[0], max: s[len(s)-1]}
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// cellData holds one cell's results: backend -> round -> result.
type cellData map[string]map[int]*result

// group indexes results of one scenario by cell, in first-seen order, and
// skips failed runs.
func group(results []*result, scenario string) (cells []string, data map[string]cellData) {
	data = map[string]cellData{}
	for _, r := range results {
		if r.Scenario != scenario || r.Failed() {
			continue
		}
		c := r.Cell()
		if _, ok := data[c]; !ok {
			cells = append(cells, c)
			data[c] = cellData{}
		}
		if data[c][r.Backend] == nil {
			data[c][r.Backend] = map[int]*result{}
		}
		data[c][r.Backend][r.Round] = r
	}
	return cells, data
}

// values returns backend's figure in unit over the rounds, in round order.
func (d cellData) values(backend, unit string) []float64 {
	rounds := d.rounds(backend)
	var out []float64
	for _, rd := range rounds {
		if v, ok := d[backend][rd].Get(unit); ok {
			out = append(out, v)
		}
	}
	return out
}

func (d cellData) rounds(backend string) []int {
	var rs []int
	for rd := range d[backend] {
		rs = append(rs, rd)
	}
	slices.Sort(rs)
	return rs
}

// stat summarises backend's figure over the rounds.
func (d cellData) stat(backend, unit string) summary { return summarize(d.values(backend, unit)) }

// ratio returns the median over rounds of backend's figure divided by
// base's in the same round, and how many rounds had both.
func (d cellData) ratio(backend, base, unit string) (float64, int) {
	var rs []float64
	for rd, r := range d[backend] {
		b, ok := d[base][rd]
		if !ok {
			continue
		}
		x, ok1 := r.Get(unit)
		y, ok2 := b.Get(unit)
		if ok1 && ok2 && y != 0 {
			rs = append(rs, x/y)
		}
	}
	if len(rs) == 0 {
		return 0, 0
	}
	slices.Sort(rs)
	return median(rs), len(rs)
}
