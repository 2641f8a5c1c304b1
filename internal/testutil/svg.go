package testutil

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// SVG is what ParseSVG found in an SVG document: enough to check that a
// chart holds its curve and its labels without comparing pictures.
type SVG struct {
	// Paths are the points of each path element, its M and L commands'
	// x,y pairs in document order (other commands are skipped).
	Paths [][][2]float64
	// Texts are the contents of the text elements, in document order.
	Texts []string
}

// pathPoint is one M or L command of path data, "M12.5,-3" or "L 1 2".
var pathPoint = regexp.MustCompile(`[ML]\s*(-?[0-9.eE+-]+)[ ,]\s*(-?[0-9.eE+-]+)`)

// ParseSVG reads data as XML with an svg root element, failing the test if
// it is not one. The test's goroutine only (it may call Fatal).
func ParseSVG(t testing.TB, data []byte) SVG {
	t.Helper()
	var out SVG
	dec := xml.NewDecoder(bytes.NewReader(data))
	var inText *strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			switch tok.Name.Local {
			case "text":
				inText = new(strings.Builder)
			case "path":
				for _, a := range tok.Attr {
					if a.Name.Local == "d" {
						out.Paths = append(out.Paths, pathPoints(t, a.Value))
					}
				}
			}
		case xml.CharData:
			if inText != nil {
				inText.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" && inText != nil {
				out.Texts = append(out.Texts, strings.TrimSpace(inText.String()))
				inText = nil
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return out
}

func pathPoints(t testing.TB, d string) [][2]float64 {
	t.Helper()
	var pts [][2]float64
	for _, m := range pathPoint.FindAllStringSubmatch(d, -1) {
		x, err1 := strconv.ParseFloat(m[1], 64)
		y, err2 := strconv.ParseFloat(m[2], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("path data %q: point %q", d, m[0])
		}
		pts = append(pts, [2]float64{x, y})
	}
	return pts
}
