package zkstore

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// shards is the number of shard nodes per bucket. It is part of the stored
// format (see meta): changing it needs a migration.
const shards = 256

// safeByte reports whether b may appear unescaped in a znode name. '%'
// escapes everything else; a leading '.' is escaped too so that no name is
// ever "." or "..".
func safeByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("-_.:@+,=~", b) >= 0
}

const hexDigits = "0123456789ABCDEF"

// encodeName turns any non-empty string into a valid znode name.
func encodeName(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeByte(c) && !(i == 0 && c == '.') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// decodeName reverses encodeName.
func decodeName(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("zkstore: bad escaped name %q", s)
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", fmt.Errorf("zkstore: bad escaped name %q", s)
		}
		b = append(b, byte(hi<<4|lo))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// shardOf is the shard node name of a key.
func shardOf(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	return fmt.Sprintf("%02x", h.Sum32()%shards)
}

// paths computes the znode paths of one store root.
type paths struct {
	base string // <root>/store
}

func newPaths(root string) paths {
	if root == "/" {
		return paths{base: "/store"}
	}
	return paths{base: root + "/store"}
}

func (p paths) buckets() string             { return p.base + "/b" }
func (p paths) blobs() string               { return p.base + "/blobs" }
func (p paths) bucket(bucket string) string { return p.buckets() + "/" + encodeName(bucket) }
func (p paths) shard(bucket, key string) string {
	return p.bucket(bucket) + "/" + shardOf(key)
}
func (p paths) key(bucket, key string) string {
	return p.shard(bucket, key) + "/" + encodeName(key)
}
func (p paths) chunk(blob string, n int) string { return fmt.Sprintf("%s/%s-%d", p.blobs(), blob, n) }
