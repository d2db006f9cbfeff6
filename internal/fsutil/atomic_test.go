package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	cases := []struct {
		name    string
		path    string
		data    string
		wantErr bool
	}{
		{"new file in new dir", "a/b/out.json", `{"x":1}`, false},
		{"replaces existing", "out.json", "second", false},
		{"parent is a file", "out.json/child", "x", true},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "out.json"), []byte("first"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.path)
			err := WriteFileAtomic(p, []byte(tc.data), 0o644)
			if tc.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(p)
			if err != nil || string(got) != tc.data {
				t.Fatalf("read back %q, %v; want %q", got, err, tc.data)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*.tmp-*"))
			if len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}
