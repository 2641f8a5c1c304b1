package serversocket_test

// IDataInput and IDataOutput over the wire: every typed value in both byte
// orders, checked against bytes built independently with encoding/binary,
// and EOF behaviour when a value is split across TCP segments.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/airsock/airsock/internal/testutil"

	"github.com/airsock/airsock/loop"
	"github.com/airsock/airsock/serversocket"
)

// wireValues holds one of each typed value.
type wireValues struct {
	True, False bool
	Byte        int8
	UByte       uint8
	Short       int16
	UShort      uint16
	Int         int32
	UInt        uint32
	Float       float32
	Double      float64
	UTF         string
	UTFBytes    string
	ShiftJIS    string
}

var wantValues = wireValues{
	True: true, Byte: -100, UByte: 200, Short: -12345, UShort: 54321,
	Int: -1234567890, UInt: 3456789012, Float: 3.25, Double: -1.5e300,
	UTF: "héllo, wörld ✓", UTFBytes: "日本", ShiftJIS: "日本語テキスト",
}

// shiftJISText is wantValues.ShiftJIS in Shift_JIS, from the JIS X 0208
// tables rather than from the encoder under test.
var shiftJISText = []byte{0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x83, 0x65, 0x83, 0x4c, 0x83, 0x58, 0x83, 0x67}

// encodeValues builds the bytes of v as IDataOutput writes them in order.
func encodeValues(order binary.AppendByteOrder, v wireValues) []byte {
	var b []byte
	b = append(b, 1, 0, byte(v.Byte), v.UByte)
	b = order.AppendUint16(b, uint16(v.Short))
	b = order.AppendUint16(b, v.UShort)
	b = order.AppendUint32(b, uint32(v.Int))
	b = order.AppendUint32(b, v.UInt)
	b = order.AppendUint32(b, math.Float32bits(v.Float))
	b = order.AppendUint64(b, math.Float64bits(v.Double))
	b = order.AppendUint16(b, uint16(len(v.UTF)))
	b = append(b, v.UTF...)
	b = append(b, v.UTFBytes...)
	return append(b, shiftJISText...)
}

// readValues reads one wireValues with the socket's typed readers.
func readValues(s *serversocket.Socket) (v wireValues, err error) {
	step := func(e error) {
		if err == nil {
			err = e
		}
	}
	var e error
	v.True, e = s.ReadBoolean()
	step(e)
	v.False, e = s.ReadBoolean()
	step(e)
	v.Byte, e = s.ReadSignedByte()
	step(e)
	v.UByte, e = s.ReadUnsignedByte()
	step(e)
	v.Short, e = s.ReadShort()
	step(e)
	v.UShort, e = s.ReadUnsignedShort()
	step(e)
	v.Int, e = s.ReadInt()
	step(e)
	v.UInt, e = s.ReadUnsignedInt()
	step(e)
	v.Float, e = s.ReadFloat()
	step(e)
	v.Double, e = s.ReadDouble()
	step(e)
	v.UTF, e = s.ReadUTF()
	step(e)
	v.UTFBytes, e = s.ReadUTFBytes(len(wantValues.UTFBytes))
	step(e)
	v.ShiftJIS, e = s.ReadMultiByte(len(shiftJISText), "shift_jis")
	step(e)
	return v, err
}

// writeValues writes v with the socket's typed writers.
func writeValues(s *serversocket.Socket, v wireValues) error {
	return errors.Join(
		s.WriteBoolean(v.True), s.WriteBoolean(v.False),
		s.WriteByte(byte(v.Byte)), s.WriteByte(v.UByte),
		s.WriteShort(int(v.Short)), s.WriteShort(int(v.UShort)),
		s.WriteInt(v.Int), s.WriteUnsignedInt(v.UInt),
		s.WriteFloat(v.Float), s.WriteDouble(v.Double),
		s.WriteUTF(v.UTF), s.WriteUTFBytes(v.UTFBytes),
		s.WriteMultiByte(v.ShiftJIS, "shift_jis"),
	)
}

// dataIOResult is what the server's listener found.
type dataIOResult struct {
	big, little   wireValues
	readErr       error
	writeErr      error
	defaultEndian string
	badEndian     string
	left          int
}

func TestSocketTypedValuesOverTheWire(t *testing.T) {
	e := newEngine(t, loop.Config{})
	wire := append(encodeValues(binary.BigEndian, wantValues), encodeValues(binary.LittleEndian, wantValues)...)
	results := make(chan dataIOResult, 1)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(serversocket.Eventer) {
			if s.BytesAvailable() < len(wire) {
				return // the rest is on its way; nothing is consumed
			}
			var r dataIOResult
			r.defaultEndian = s.Endian()
			r.badEndian = errKind(s.SetEndian("middleEndian"))
			var err1, err2 error
			r.big, err1 = readValues(s)
			s.SetEndian(serversocket.LittleEndian)
			r.little, err2 = readValues(s)
			r.readErr = errors.Join(err1, err2)
			r.left = s.BytesAvailable()

			s.SetEndian(serversocket.BigEndian)
			err1 = writeValues(s, wantValues)
			s.SetEndian(serversocket.LittleEndian)
			err2 = writeValues(s, wantValues)
			r.writeErr = errors.Join(err1, err2)
			results <- r
		}, 0)
	})
	if _, err := c.Write(wire); err != nil {
		t.Fatal(err)
	}
	r := testutil.Recv(t, results, "the server's reads")
	if r.readErr != nil || r.writeErr != nil {
		t.Fatalf("read error %v, write error %v", r.readErr, r.writeErr)
	}
	if r.defaultEndian != serversocket.BigEndian || r.badEndian != "ArgumentError 2008" {
		t.Errorf("default endian %q, SetEndian(bad) %s; want bigEndian, ArgumentError 2008", r.defaultEndian, r.badEndian)
	}
	if r.big != wantValues {
		t.Errorf("big-endian reads:\n got %+v\nwant %+v", r.big, wantValues)
	}
	if r.little != wantValues {
		t.Errorf("little-endian reads:\n got %+v\nwant %+v", r.little, wantValues)
	}
	if r.left != 0 {
		t.Errorf("%d bytes left unread", r.left)
	}
	if got := readN(t, c, len(wire)); !bytes.Equal(got, wire) {
		t.Errorf("typed writes sent\n% x\nwant\n% x", got, wire)
	}
}

// eofStep is what one SocketData listener call saw.
type eofStep struct {
	loaded, before, after int
	value                 float64
	err                   error
	bytesErr              string
}

// A value split over two TCP writes: the first SocketData cannot read it
// (EOFError, nothing consumed), the second reads it whole.
func TestSocketEOFAcrossEvents(t *testing.T) {
	e := newEngine(t, loop.Config{})
	const want = 6.02214076e23
	frame := binary.BigEndian.AppendUint64(nil, math.Float64bits(want))
	steps := make(chan eofStep, 2)
	_, c := acceptOne(t, e, func(s *serversocket.Socket) {
		s.AddEventListener(serversocket.SocketData, func(ev serversocket.Eventer) {
			st := eofStep{loaded: ev.(*serversocket.ProgressEvent).BytesLoaded, before: s.BytesAvailable()}
			st.value, st.err = s.ReadDouble()
			if st.err != nil { // the other reads of a whole value fail alike
				_, bytesErr := s.ReadBytes(nil, 0, 8)
				st.bytesErr = errKind(bytesErr)
			}
			st.after = s.BytesAvailable()
			steps <- st
		}, 0)
	})
	if _, err := c.Write(frame[:3]); err != nil {
		t.Fatal(err)
	}
	first := testutil.Recv(t, steps, "the first SocketData")
	eof, ok := errors.AsType[*serversocket.EOFError](first.err)
	if !ok || eof.ErrorID != serversocket.IDEndOfFile || !errors.Is(first.err, io.ErrUnexpectedEOF) {
		t.Errorf("first ReadDouble error = %v, want EOFError #2030 matching io.ErrUnexpectedEOF", first.err)
	}
	if first.loaded != 3 || first.before != 3 || first.after != 3 || first.bytesErr != "EOFError 2030" {
		t.Errorf("first SocketData %+v: want 3 bytes loaded and still available, ReadBytes EOFError 2030", first)
	}
	if _, err := c.Write(frame[3:]); err != nil {
		t.Fatal(err)
	}
	second := testutil.Recv(t, steps, "the second SocketData")
	if second.err != nil || second.value != want || second.loaded != 5 || second.before != 8 || second.after != 0 {
		t.Errorf("second SocketData %+v: want 5 bytes loaded, 8 available, ReadDouble %v consuming all", second, want)
	}
}
