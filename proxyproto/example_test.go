package proxyproto_test

import (
	"fmt"
	"net/netip"

	"github.com/airsock/airsock/proxyproto"
)

// An event loop feeds Parse what has arrived so far, and acts on the
// first answer that is not ErrTruncated.
func ExampleParse() {
	wire := []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n\r\n")
	var in []byte
	for _, piece := range [][]byte{wire[:9], wire[9:30], wire[30:]} { // three reads
		in = append(in, piece...)
		h, n, err := proxyproto.Parse(in)
		if err == proxyproto.ErrTruncated {
			fmt.Println("waiting, have", len(in), "bytes")
			continue
		}
		if err != nil {
			fmt.Println("close:", err)
			return
		}
		fmt.Println(h.Command, h.Transport, h.Source, "->", h.Destination)
		fmt.Printf("client data: %q\n", in[n:])
	}
	// Output:
	// waiting, have 9 bytes
	// waiting, have 30 bytes
	// PROXY TCP4 192.168.0.1:56324 -> 192.168.0.11:443
	// client data: "GET / HTTP/1.1\r\n\r\n"
}

func ExampleParse_notAHeader() {
	_, _, err := proxyproto.Parse([]byte("G")) // one byte is enough
	fmt.Println(err)
	// Output: proxyproto: first byte is neither 'P' (v1) nor '\r' (v2 signature) at byte 0
}

func ExampleAppendV2() {
	tlvs := proxyproto.AppendTLV(nil, proxyproto.TypeAuthority, []byte("example.com"))
	tlvs = proxyproto.AppendTLV(tlvs, proxyproto.TypeCRC32C, make([]byte, 4)) // AppendV2 computes it
	b, err := proxyproto.AppendV2(nil, proxyproto.Header{
		Command:     proxyproto.Proxy,
		Transport:   proxyproto.TCP4,
		Source:      netip.MustParseAddrPort("203.0.113.7:40000"),
		Destination: netip.MustParseAddrPort("198.51.100.1:443"),
		TLVs:        tlvs,
	})
	if err != nil {
		panic(err)
	}
	h, n, err := proxyproto.Parse(b)
	authority, _ := h.TLVs.Authority()
	fmt.Println(n, err, h.Source, authority)
	// Output: 49 <nil> 203.0.113.7:40000 example.com
}
