package proxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"

	"github.com/halo-lb/halo/internal/config"
)

func TestCodingQ(t *testing.T) {
	for _, tc := range []struct {
		el, tok string
		q       int
	}{
		{"gzip", "gzip", 1000}, {" gzip;q=0.5", "gzip", 500}, {"gzip ; q=0.123", "gzip", 123},
		{"gzip;level=1;q=0.3", "gzip", 300}, {"gzip;q=0", "gzip", 0}, {"gzip;q=1.5", "gzip", 1000},
		{"gzip;q=abc", "gzip", 1000}, {"*;q=0.001", "*", 1}, {"", "", 1000},
	} {
		if tok, q := codingQ(tc.el); tok != tc.tok || q != tc.q {
			t.Errorf("codingQ(%q) = %q, %d; want %q, %d", tc.el, tok, q, tc.tok, tc.q)
		}
	}
}

func TestOldUserAgent(t *testing.T) {
	for ua, old := range map[string]bool{
		"Mozilla/4.0 (compatible; foo)":                           true,
		"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)":          true,
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)":      true,
		"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)": false,
		"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1)":      false,
		"Mozilla/5.0 (X11)":                                       false, "curl/8": false,
	} {
		if got := oldUserAgent([]hdr{{"User-Agent", ua}}); got != old {
			t.Errorf("oldUserAgent(%q) = %v, want %v", ua, got, old)
		}
	}
}

// TestEncoderPoolAllocs: a pooled encoder compresses a response without
// making a new deflate state (hundreds of kilobytes) each time.
func TestEncoderPoolAllocs(t *testing.T) {
	var pools encoderPools
	body := bytes.Repeat([]byte("some text that compresses well "), 2000)
	var out bytes.Buffer
	run := func() {
		out.Reset()
		e := pools.get(config.CompGzip, &out)
		e.w.Write(body)
		e.w.Close()
		e.out.emit()
		pools.put(e)
	}
	run()
	// The chunked output must decode back to the body.
	if got := dechunk(t, out.Bytes()); !bytes.Equal(got, body) {
		t.Fatalf("round trip: %d bytes, want %d", len(got), len(body))
	}
	if raceEnabled {
		return // sync.Pool drops items at random under the race detector
	}
	if n := testing.AllocsPerRun(50, run); n > 5 {
		t.Errorf("%.0f allocations per compressed response, want a handful", n)
	}
}

func dechunk(t *testing.T, b []byte) []byte {
	t.Helper()
	var gz []byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		var n int
		for _, c := range b[:i] {
			n = n*16 + int(bytes.IndexByte([]byte("0123456789abcdef"), c))
		}
		gz = append(gz, b[i+2:i+2+n]...)
		b = b[i+2+n+2:]
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	d, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func BenchmarkGzipResponse(b *testing.B) {
	var pools encoderPools
	body := bytes.Repeat([]byte("some text that compresses well "), 2000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		e := pools.get(config.CompGzip, io.Discard)
		e.w.Write(body)
		e.w.Close()
		e.out.emit()
		pools.put(e)
	}
}
