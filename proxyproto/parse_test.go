package proxyproto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const sig = "\r\n\r\n\x00\r\nQUIT\n"

// Bytes that are not a header are refused as soon as one byte differs
// from every header, not when a buffer fills up.
func TestEarlyRejection(t *testing.T) {
	tests := []struct {
		in      string
		offset  int
		version int
		detect  int // bytes it takes to see the fault, if not offset+1
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, 0},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0, 0, 0}, // TLS ClientHello
		{"SSH-2.0-OpenSSH_9.6\r\n", 0, 0, 0},
		{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 2, 1, 0}, // HTTP/2 preface shares "PR"
		{"PROXY\r\n", 5, 1, 0},
		{"PROXY TCP5 ", 9, 1, 0},
		{"PROXY tcp4 ", 6, 1, 0},
		{"PROXY  TCP4", 6, 1, 0},
		{"PROXY UNKNOWN\n", 13, 1, 0},
		{"\r\n\r\n\r\n", 4, 2, 0},             // an HTTP client's stray CRLFs
		{sig[:11] + "X", 11, 2, 0},            // signature's last byte
		{sig + "\x10", 12, 2, 0},              // version 1 in the binary format
		{sig + "\x22", 12, 2, 0},              // command 2
		{sig + "\x21\x13", 13, 2, 0},          // protocol 3
		{sig + "\x21\x11\x00\x0b", 14, 2, 16}, // length below the address block: both its bytes
	}
	for _, tt := range tests {
		in := []byte(tt.in)
		if tt.detect == 0 {
			tt.detect = tt.offset + 1
		}
		// Every prefix up to the wrong byte is still possible.
		for i := 0; i < tt.detect; i++ {
			if _, _, err := Parse(in[:i]); err != ErrTruncated {
				t.Fatalf("Parse(%q) = %v, want ErrTruncated", in[:i], err)
			}
		}
		// From the wrong byte on, every prefix is refused with it.
		for i := tt.detect; i <= len(in); i++ {
			_, n, err := Parse(in[:i])
			if err == ErrTruncated {
				t.Fatalf("Parse(%q) = ErrTruncated, want a v%d error at byte %d", in[:i], tt.version, tt.offset)
			}
			se := syntaxError(t, err)
			if n != 0 || se.Offset != tt.offset || se.Version != tt.version {
				t.Fatalf("Parse(%q) = %d, %+v; want a v%d error at byte %d", in[:i], n, se, tt.version, tt.offset)
			}
		}
	}
}

func TestV2LengthOverLimit(t *testing.T) {
	// Only the 16-byte prefix: the announced 65535 bytes are refused at
	// once, without waiting for them.
	b := []byte(sig + "\x21\x11\xff\xff")
	_, _, err := Parse(b)
	if se := syntaxError(t, err); !errors.Is(err, ErrTooLong) || se.Offset != 14 || se.Version != 2 {
		t.Fatalf("Parse = %v, want ErrTooLong at byte 14", err)
	}
	_, _, err = Parse([]byte(sig + "\x21\x11\x10\x01")) // 4097
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("length 4097 = %v, want ErrTooLong", err)
	}
	if _, _, err = Parse([]byte(sig + "\x21\x11\x10\x00")); err != ErrTruncated { // 4096
		t.Fatalf("length 4096 = %v, want ErrTruncated", err)
	}
	// A custom limit, and the default for limit <= 0.
	if _, _, err = ParseLimit([]byte(sig+"\x21\x11\x00\x0d"), 12); !errors.Is(err, ErrTooLong) {
		t.Fatalf("ParseLimit(13 > 12) = %v", err)
	}
	if _, _, err = ParseLimit([]byte(sig+"\x21\x11\x10\x00"), 0); err != ErrTruncated {
		t.Fatalf("ParseLimit(4096, 0) = %v", err)
	}
	if _, _, err = ParseLimit([]byte(sig+"\x21\x11\xff\xff"), 1<<20); err != ErrTruncated {
		t.Fatalf("ParseLimit(65535, 1<<20) = %v", err)
	}
	full := append([]byte(sig+"\x21\x11\x00\x0f"), make([]byte, 15)...)
	full = append(full, 4, 0, 0) // a NOOP after the addresses
	if _, n, err := ParseLimit(full, 15); err != nil || n != 31 {
		t.Fatalf("ParseLimit at its limit = %d, %v", n, err)
	}
}

func TestV1TooLong(t *testing.T) {
	// UNKNOWN lets the sender put anything before CRLF, within 107 bytes.
	line := "PROXY UNKNOWN " + strings.Repeat("x", 90) + "\r\n" // 106
	mustParse(t, []byte(line), 106)
	line = "PROXY UNKNOWN " + strings.Repeat("x", 91) + "\r\n" // 107
	mustParse(t, []byte(line), 107)
	// 108: refused when the 106th byte is not CR, before the 107th arrives.
	long := []byte("PROXY UNKNOWN " + strings.Repeat("x", 92) + "\r\n")
	for i := 0; i <= 105; i++ {
		if _, _, err := Parse(long[:i]); err != ErrTruncated {
			t.Fatalf("%d bytes: %v", i, err)
		}
	}
	_, _, err := Parse(long[:106])
	if se := syntaxError(t, err); !errors.Is(err, ErrTooLong) || se.Offset != 105 {
		t.Fatalf("106 bytes: %v, want ErrTooLong at 105", err)
	}
	// TCP6 with IPv4 tails is valid text but can exceed 107 bytes.
	a := "1111:2222:3333:4444:5555:6666:255.255.255.255"
	_, _, err = Parse([]byte("PROXY TCP6 " + a + " " + a + " 65535 65535\r\n"))
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("116-byte TCP6 line: %v", err)
	}
}

// Malformed headers, each refused with a SyntaxError at the given byte;
// every prefix of one is either ErrTruncated or refused too, and once
// refused stays refused.
func TestMalformed(t *testing.T) {
	tcp4 := func(rest string) string { return "PROXY TCP4 " + rest }
	tcp6 := func(rest string) string { return "PROXY TCP6 " + rest }
	v2 := func(fam byte, l int, body []byte) string {
		return sig + "\x21" + string([]byte{fam, byte(l >> 8), byte(l)}) + string(body)
	}
	addr4 := make([]byte, 12)
	withTLV := func(tlv string) string { return v2(0x11, 12+len(tlv), append(bytes.Clone(addr4), tlv...)) }
	tests := []struct {
		name   string
		in     string
		offset int
		is     error
	}{
		{"v1 double space between addresses", tcp4("1.2.3.4  5.6.7.8 1 2\r\n"), 19, nil},
		{"v1 tab", tcp4("1.2.3.4\t5.6.7.8 1 2\r\n"), 18, nil},
		{"v1 bare LF", tcp4("1.2.3.4 5.6.7.8 1 2\n"), 30, nil},
		{"v1 CR CR", tcp4("1.2.3.4 5.6.7.8 1 2\r\r"), 31, nil},
		{"v1 trailing space", tcp4("1.2.3.4 5.6.7.8 1 2 \r\n"), 30, nil},
		{"v1 missing port", tcp4("1.2.3.4 5.6.7.8 1\r\n"), 28, nil},
		{"v1 heading zero in address", tcp4("01.2.3.4 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 octet 256", tcp4("1.2.3.256 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 three octets", tcp4("1.2.3 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 five octets", tcp4("1.2.3.4.5 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 octet of 4 digits", tcp4("1234.2.3.4 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 empty octet", tcp4("1..3.4 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 trailing dot", tcp4("1.2.3.4. 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 address too long", tcp4("1.2.3.4.5.6.7.8. 5.6.7.8 1 2\r\n"), 11, nil},
		{"v1 IPv6 in TCP4", tcp4("::1 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv4 in TCP6", tcp6("1.2.3.4 ::1 1 2\r\n"), 11, nil},
		{"v1 destination of the other family", tcp6("::1 1.2.3.4 1 2\r\n"), 15, nil},
		{"v1 IPv6 zone", tcp6("fe80::1%eth0 ::1 1 2\r\n"), 18, nil},
		{"v1 IPv6 two ellipses", tcp6("1::2::3 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 triple colon", tcp6(":::1 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 five digits", tcp6("12345::1 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 nine groups", tcp6("1:2:3:4:5:6:7:8:9 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 seven groups", tcp6("1:2:3:4:5:6:7 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 empty ellipsis", tcp6("1:2:3:4::5:6:7:8 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 trailing colon", tcp6("1:: ::1: 1 2\r\n"), 15, nil},
		{"v1 IPv6 bad IPv4 tail", tcp6("::ffff:1.2.3.04 ::1 1 2\r\n"), 11, nil},
		{"v1 IPv6 early IPv4 tail", tcp6("1.2.3.4::1 ::1 1 2\r\n"), 11, nil},
		{"v1 heading zero in port", tcp4("1.2.3.4 5.6.7.8 080 2\r\n"), 27, nil},
		{"v1 port 65536", tcp4("1.2.3.4 5.6.7.8 1 65536\r\n"), 29, nil},
		{"v1 port 6 digits", tcp4("1.2.3.4 5.6.7.8 100000 2\r\n"), 27, nil},
		{"v1 negative port", tcp4("1.2.3.4 5.6.7.8 -1 2\r\n"), 27, nil},
		{"v1 no space after TCP4", "PROXY TCP4\r\n", 10, nil},
		{"v1 UNKNOWN glued", "PROXY UNKNOWNX\r\n", 13, nil},
		{"v1 UNKNOWN bare LF inside", "PROXY UNKNOWN a\nb\r\n", 15, nil},
		{"v1 UNKNOWN CR without LF", "PROXY UNKNOWN a\rb\r\n", 16, nil},
		{"v1 UNKNOWN past 107", "PROXY UNKNOWN " + strings.Repeat(" ", 200), 105, ErrTooLong},
		{"v2 version 3", sig + "\x31\x11\x00\x0c" + string(addr4), 12, nil},
		{"v2 command 15", sig + "\x2f\x11\x00\x0c" + string(addr4), 12, nil},
		{"v2 family 4", v2(0x41, 12, addr4), 13, nil},
		{"v2 IPv4 without protocol", v2(0x10, 12, addr4), 13, nil},
		{"v2 UNSPEC family with STREAM", v2(0x01, 0, nil), 13, nil},
		{"v2 UNIX protocol 3", v2(0x33, 216, make([]byte, 216)), 13, nil},
		{"v2 TCP6 length 12", v2(0x21, 12, addr4), 14, nil},
		{"v2 UNIX length 215", v2(0x31, 215, make([]byte, 215)), 14, nil},
		{"v2 length 65535", v2(0x11, 0xffff, nil), 14, ErrTooLong},
		{"v2 one stray byte after addresses", withTLV("\x04"), 28, nil},
		{"v2 two stray bytes after a TLV", withTLV("\x04\x00\x00\x04\x00"), 31, nil},
		{"v2 TLV past the end", withTLV("\x01\x00\x03h2"), 28, nil},
		{"v2 second TLV past the end", withTLV("\x01\x00\x02h2\x02\x00\x01"), 33, nil},
		{"v2 CRC32C of 3 bytes", withTLV("\x03\x00\x03abc"), 28, nil},
		{"v2 two CRC32Cs", withTLV("\x03\x00\x04\x00\x00\x00\x00\x03\x00\x04\x00\x00\x00\x00"), 35, nil},
		{"v2 wrong CRC32C", withTLV("\x03\x00\x04\x00\x00\x00\x00"), 31, ErrChecksum},
		{"v2 UNIQUE_ID of 129 bytes", withTLV("\x05\x00\x81" + strings.Repeat("u", 129)), 28, nil},
		{"v2 SSL of 4 bytes", withTLV("\x20\x00\x04\x01\x00\x00\x00"), 28, nil},
		{"v2 SSL sub-TLV past its end", withTLV("\x20\x00\x08\x01\x00\x00\x00\x00\x21\x00\x01"), 36, nil},
		{"v2 SSL sub-TLV cut", withTLV("\x20\x00\x07\x01\x00\x00\x00\x00\x21\x00"), 36, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			_, n, err := Parse(in)
			se := syntaxError(t, err)
			if n != 0 || se.Offset != tt.offset {
				t.Fatalf("Parse(%q) = %d, %v; want an error at byte %d", in, n, err, tt.offset)
			}
			if tt.is != nil && !errors.Is(err, tt.is) || tt.is == nil && se.Err != nil {
				t.Fatalf("Parse(%q) = %v, want cause %v", in, err, tt.is)
			}
			if se.Msg == "" || !strings.HasPrefix(se.Error(), "proxyproto: v") {
				t.Fatalf("message %q", se.Error())
			}
			refused := false
			for i := range in {
				_, _, err := Parse(in[:i])
				switch {
				case err == ErrTruncated && !refused:
				case err != ErrTruncated && err != nil:
					syntaxError(t, err)
					refused = true
				default:
					t.Fatalf("prefix %q: %v after refused=%v", in[:i], err, refused)
				}
			}
		})
	}
}

// Cutting a valid header anywhere never gives a success or an error; with
// data after it, the header's length is still n.
func TestEveryCutIsTruncated(t *testing.T) {
	for _, h := range sampleHeaders(t) {
		for _, b := range encodings(t, h) {
			checkPrefixesTruncated(t, b, len(b))
			in := append(bytes.Clone(b), "\r\n\r\n\x00PROXY "...)
			got := mustParse(t, in, len(b))
			if !equalHeader(got, h) {
				t.Fatalf("Parse = %+v, want %+v", got, h)
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := Parse([]byte("GET"))
	if got := err.Error(); got != `proxyproto: first byte is neither 'P' (v1) nor '\r' (v2 signature) at byte 0` {
		t.Errorf("Error() = %q", got)
	}
	_, _, err = Parse([]byte("PROXY TCP4 1.2.3.400 "))
	if got := err.Error(); got != "proxyproto: v1: source address is not a valid IPv4 address at byte 11" {
		t.Errorf("Error() = %q", got)
	}
	_, _, err = Parse([]byte(sig + "\x21\x11\xff\xff"))
	if got := err.Error(); got != "proxyproto: v2: length is over the parser's maximum at byte 14" {
		t.Errorf("Error() = %q", got)
	}
	if errors.Is(err, ErrTruncated) || !errors.Is(err, ErrTooLong) {
		t.Errorf("errors.Is on %v", err)
	}
	if !errors.Is(ErrTruncated, ErrTruncated) {
		t.Error("ErrTruncated")
	}
}
