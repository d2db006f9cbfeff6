// Package golden is the one "compare with the file under testdata, or
// rewrite it with -update" check that tests share. Output too long or too
// detailed to spell out in a test (a report, a grammar, a rendered prompt)
// is kept in a file a reviewer reads in the diff; running the tests with
// -update rewrites every such file from the current output.
//
// Importing the package registers the -update flag, so a test package that
// uses it must not define a flag of that name itself.
package golden

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files from the current output")

// Check compares got with the file at path, failing t where they differ.
// With -update it first writes got to path (creating its folder), so the
// check passes and the change shows up in review. A missing file stops the
// test, since nothing after it can be judged.
func Check[T string | []byte](t testing.TB, path string, got T) {
	t.Helper()
	check(t, path, []byte(got), *update)
}

func check(t testing.TB, path string, got []byte, rewrite bool) {
	t.Helper()
	if rewrite {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test -update to create it)", err)
		return
	}
	if bytes.Equal(got, want) {
		return
	}
	t.Errorf("output differs from %s %s\n(if the change is intended, run go test -update and review the diff)\n--- got (%d bytes)\n%s",
		path, firstDiff(got, want), len(got), got)
}

// firstDiff says where got and want first part, line by line, so a long
// output's one changed line need not be hunted for.
func firstDiff(got, want []byte) string {
	g, w := lines(got), lines(want)
	for i := 0; ; i++ {
		switch {
		case i >= len(g) && i >= len(w):
			return "" // unreachable for unequal inputs
		case i >= len(g):
			return fmt.Sprintf("at line %d: the output ends where the file has %q", i+1, w[i])
		case i >= len(w):
			return fmt.Sprintf("at line %d: the output has %q where the file ends", i+1, g[i])
		case !bytes.Equal(g[i], w[i]):
			return fmt.Sprintf("at line %d:\n  got  %q\n  want %q", i+1, g[i], w[i])
		}
	}
}

// lines splits b after each newline; a final newline starts no line.
func lines(b []byte) [][]byte {
	out := bytes.SplitAfter(b, []byte("\n"))
	if len(out[len(out)-1]) == 0 {
		out = out[:len(out)-1]
	}
	return out
}
