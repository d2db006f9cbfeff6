package fsutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := bytes.Repeat([]byte("abcdefgh"), 1<<19) // 4 MiB
	tail := append([]byte(nil), big...)
	tail[len(tail)-1] = 'z'
	base, _ := Fingerprint(write("base", big))
	cases := []struct {
		name string
		data []byte
		same bool
	}{
		{"same content", big, true},
		{"last byte differs", tail, false},
		{"shorter", big[:len(big)-8], false},
		{"small file", []byte("tiny"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Fingerprint(write(tc.name, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if (got == base) != tc.same {
				t.Errorf("fingerprint equal=%v, want %v", got == base, tc.same)
			}
		})
	}
	if _, err := Fingerprint(filepath.Join(dir, "missing")); err == nil {
		t.Error("no error for a missing file")
	}
}
