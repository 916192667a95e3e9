package zkstore

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in      string
		servers string
		root    string
		err     string
	}{
		{"zk://h1:2181,h2:2181/berth", "h1:2181,h2:2181", "/berth", ""},
		{"zk://127.0.0.1:9999/a/b/", "127.0.0.1:9999", "/a/b", ""},
		{"zk://zk1/berth", "zk1:2181", "/berth", ""},
		{"zk://[::1]:2182,[::1]/x", "[::1]:2182,[::1]:2181", "/x", ""},
		{"zk://h1:2181", "", "", "want a path"},
		{"zk://h1:2181/", "", "", "want a path"},
		{"http://h1/berth", "", "", "want zk://"},
		{"zk:///berth", "", "", "no servers"},
		{"zk://h1,,h2/berth", "", "", "empty server"},
		{"zk://u:p@h1/berth", "", "", "credentials"},
		{"zk://h1/a//b", "", "", "clean absolute"},
	}
	for _, tt := range tests {
		cfg, err := ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.in, err)
			continue
		}
		if got := strings.Join(cfg.Servers, ","); got != tt.servers || cfg.Root != tt.root {
			t.Errorf("ParseURL(%q) = %s %s, want %s %s", tt.in, got, cfg.Root, tt.servers, tt.root)
		}
	}
}

func TestNames(t *testing.T) {
	keys := []string{"/prod/shop/web", ".", "..", ".hidden", "a.b", "with space", "ü/ñ", "/a\x01b", "%41", "\xff\xfe"}
	seen := map[string]bool{}
	for _, k := range keys {
		n := encodeName(k)
		if strings.ContainsAny(n, "/ ") || n == "." || n == ".." || seen[n] {
			t.Errorf("encodeName(%q) = %q: not a valid unique znode name", k, n)
		}
		seen[n] = true
		for i := 0; i < len(n); i++ {
			if n[i] < 0x21 || n[i] > 0x7e {
				t.Errorf("encodeName(%q) = %q has byte %#x", k, n, n[i])
			}
		}
		back, err := decodeName(n)
		if err != nil || back != k {
			t.Errorf("decodeName(encodeName(%q)) = %q, %v", k, back, err)
		}
	}
	if _, err := decodeName("%4"); err == nil {
		t.Error("decodeName accepted a truncated escape")
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c := codec{compressAbove: 16, chunkSize: 10}
	for _, v := range []string{"", "short", strings.Repeat("abc", 100), "0123456789abcdefghij-incompressible?"} {
		e := c.encode([]byte(v), false)
		var got []byte
		var err error
		if e.Pointer == nil {
			got, err = decodeInline(e.Inline)
		} else {
			p, perr := unmarshalPointer(e.Pointer)
			if perr != nil {
				t.Fatal(perr)
			}
			got, err = assemble(p, e.Chunks)
			if _, err2 := assemble(p, append([][]byte{[]byte("x")}, e.Chunks[1:]...)); err2 == nil && len(e.Chunks) > 1 {
				t.Errorf("assemble accepted a damaged chunk")
			}
		}
		if err != nil || string(got) != v {
			t.Errorf("round trip %q: %q, %v", v, got, err)
		}
	}
}
