package lbsync

import (
	"bytes"
	"regexp"
)

// EmptyUpstreamPlaceholder is what FillEmptyUpstreams puts into an nginx
// upstream block without servers: nginx refuses such a block ("no servers
// are inside upstream"), and accepts one whose only server is down
// (requests get 502 until an instance appears).
const EmptyUpstreamPlaceholder = "server 127.0.0.1:1 down; # berth lbsync: no instances yet"

// FillEmptyUpstreams returns conf with every `upstream name { … }` block
// that has no server directive given the placeholder server, and the
// names of the blocks it filled. A consul-template template such as the
// classic `upstream app { {{range service "app"}}server …;{{end}} }`
// renders such a block while the service has no instances; without this,
// every render fails `nginx -t` until it has some. It is pure.
func FillEmptyUpstreams(conf []byte) ([]byte, []string) {
	upstreamStart := regexp.MustCompile(`(?m)(^|[\s;{}])upstream\s+[^\s{;#]+\s*\{`)
	serverWord := regexp.MustCompile(`(^|[\s;{])server\s`)
	var out bytes.Buffer
	var filled []string
	rest := conf
	for {
		loc := upstreamStart.FindIndex(rest)
		if loc == nil || inComment(rest, loc[0]) {
			if loc == nil {
				out.Write(rest)
				return out.Bytes(), filled
			}
			out.Write(rest[:loc[1]])
			rest = rest[loc[1]:]
			continue
		}
		open := loc[1] // just past '{'
		end := matchingBrace(rest, open)
		if end < 0 {
			out.Write(rest)
			return out.Bytes(), filled
		}
		body := rest[open:end]
		out.Write(rest[:open])
		if !serverWord.Match(stripComments(body)) {
			head := bytes.Fields(rest[loc[0]:open])
			if len(head) >= 2 {
				filled = append(filled, string(bytes.TrimSuffix(head[len(head)-2], []byte("{"))))
			}
			out.WriteString("\n    " + EmptyUpstreamPlaceholder + "\n")
		}
		out.Write(body)
		rest = rest[end:]
	}
}

// matchingBrace returns the index of the '}' closing the block whose body
// starts at from, skipping comments and quoted strings; -1 if none.
func matchingBrace(b []byte, from int) int {
	depth := 1
	for i := from; i < len(b); i++ {
		switch b[i] {
		case '#':
			for i < len(b) && b[i] != '\n' {
				i++
			}
		case '"', '\'':
			q := b[i]
			for i++; i < len(b) && b[i] != q; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(append(out, line...), '\n')
	}
	return out
}

// inComment reports whether position i of b is inside a '#' comment.
func inComment(b []byte, i int) bool {
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	return bytes.IndexByte(b[start:i+1], '#') >= 0
}
