package chronos

import (
	"errors"
	"testing"
)

// FuzzDecode: any body either decodes and normalizes, or fails with an
// *Error naming what is wrong; never a panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(seedJob))
	f.Add([]byte(`{"name":"a","parents":["b"],"command":"x","constraints":[["a","LIKE","("]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		j, err := Decode(body)
		if err == nil {
			err = j.Normalize(DefaultDefaults, len(j.Parents) > 0, now)
		}
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
