package amf

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"testing"
	"time"
)

// A typical game or chat object: eight fields, one of them a nested array
// of objects, for the scale comparison with encoding/json and
// encoding/gob (each message encoded on its own, as one writeObject is).
type benchPlayer struct {
	ID     int          `amf:"id" json:"id"`
	Name   string       `amf:"name" json:"name"`
	Level  int          `amf:"level" json:"level"`
	Score  float64      `amf:"score" json:"score"`
	Online bool         `amf:"online" json:"online"`
	Joined time.Time    `amf:"joined" json:"joined"`
	Tags   []string     `amf:"tags" json:"tags"`
	Items  []*benchItem `amf:"items" json:"items"`
}

type benchItem struct {
	Name  string `amf:"name" json:"name"`
	Count int    `amf:"count" json:"count"`
}

func init() {
	for alias, v := range map[string]any{"bench.Player": benchPlayer{}, "bench.Item": benchItem{}} {
		if err := RegisterClassAlias(alias, v); err != nil {
			panic(err)
		}
	}
}

func newBenchPlayer() *benchPlayer {
	return &benchPlayer{ID: 4711, Name: "Ada Lovelace", Level: 42, Score: 98765.5, Online: true,
		Joined: time.UnixMilli(1764633600000).UTC(), Tags: []string{"founder", "mathematician", "poet"},
		Items: []*benchItem{{"sword", 1}, {"potion", 12}, {"map", 1}, {"coin", 250}}}
}

func BenchmarkEncodeAMF3(b *testing.B) {
	p, e := newBenchPlayer(), NewEncoder()
	buf, _ := e.Encode(nil, p)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Encode(buf[:0], p)
	}
}

func BenchmarkDecodeAMF3(b *testing.B) {
	data, _ := Marshal(newBenchPlayer())
	d := NewDecoder()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := d.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	p := newBenchPlayer()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(p)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		enc.Encode(p)
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	data, _ := json.Marshal(newBenchPlayer())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p benchPlayer
		if err := json.Unmarshal(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeGob(b *testing.B) {
	p := newBenchPlayer()
	var buf bytes.Buffer
	gob.NewEncoder(&buf).Encode(p)
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		gob.NewEncoder(&buf).Encode(p) // each message on its own: its type description included
	}
}

func BenchmarkDecodeGob(b *testing.B) {
	var buf bytes.Buffer
	gob.NewEncoder(&buf).Encode(newBenchPlayer())
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p benchPlayer
		if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchPlayerRoundTrip: the benchmark's object comes back whole, so
// that the benchmark measures real work.
func TestBenchPlayerRoundTrip(t *testing.T) {
	data, err := Marshal(newBenchPlayer())
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	got, want := v.(*benchPlayer), newBenchPlayer()
	if got.Name != want.Name || got.Joined != want.Joined || len(got.Items) != 4 || *got.Items[3] != *want.Items[3] ||
		len(got.Tags) != 3 || got.Tags[2] != "poet" || got.Score != want.Score || got.ID != want.ID {
		t.Errorf("round trip: %+v", got)
	}
}
