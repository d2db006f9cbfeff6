package golden

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// fakeT records what Check reports. Fatalf ends the goroutine as the real
// one does, so code after it does not run.
type fakeT struct {
	testing.TB // nil: a method Check should not call panics
	errors     []string
	fatal      bool
}

func (f *fakeT) Helper() {}

func (f *fakeT) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
	f.fatal = true
	runtime.Goexit()
}

// run calls fn with a fake T in a goroutine of its own, which Fatalf may end.
func run(fn func(t testing.TB)) *fakeT {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f
}

func TestCheck(t *testing.T) {
	const want = "line one\nline two\n"
	cases := []struct {
		name    string
		file    *string // nil: no golden file
		got     string
		rewrite bool
		fatal   bool
		errs    []string // each in the one report, in order; none: passes
	}{
		{name: "equal", file: ptr(want), got: want},
		{name: "a line differs", file: ptr(want), got: "line one\nline 2\n",
			errs: []string{"x.golden at line 2:", `got  "line 2\n"`, `want "line two\n"`, "run go test -update", "--- got (16 bytes)\nline one\nline 2\n"}},
		{name: "output shorter", file: ptr(want), got: "line one\n",
			errs: []string{`at line 2: the output ends where the file has "line two\n"`}},
		{name: "output longer", file: ptr(want), got: want + "three\n",
			errs: []string{`at line 3: the output has "three\n" where the file ends`}},
		{name: "only a final newline differs", file: ptr(want), got: strings.TrimSuffix(want, "\n"),
			errs: []string{`at line 2:`, `got  "line two"`, `want "line two\n"`}},
		{name: "empty output", file: ptr(want), got: "",
			errs: []string{`at line 1: the output ends where the file has "line one\n"`}},
		{name: "no file", got: want, fatal: true,
			errs: []string{"read golden file: ", "x.golden", "run go test -update to create it"}},
		{name: "no file, rewriting", got: want, rewrite: true},
		{name: "differs, rewriting", file: ptr("old\n"), got: want, rewrite: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "testdata", "sub", "x.golden")
			if tc.file != nil {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(*tc.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			f := run(func(ft testing.TB) { check(ft, path, []byte(tc.got), tc.rewrite) })
			if f.fatal != tc.fatal {
				t.Errorf("fatal = %v; want %v (reports %q)", f.fatal, tc.fatal, f.errors)
			}
			if len(tc.errs) == 0 {
				if len(f.errors) != 0 {
					t.Errorf("reported %q; want a pass", f.errors)
				}
			} else if len(f.errors) != 1 {
				t.Errorf("reported %q; want one report", f.errors)
			} else {
				rest := f.errors[0]
				for _, e := range tc.errs {
					i := strings.Index(rest, e)
					if i < 0 {
						t.Errorf("report %q lacks %q (after the earlier parts)", f.errors[0], e)
						break
					}
					rest = rest[i+len(e):]
				}
			}
			if tc.rewrite {
				if b, err := os.ReadFile(path); err != nil || string(b) != tc.got {
					t.Errorf("after rewriting the file holds %q, %v; want %q", b, err, tc.got)
				}
			}
		})
	}
}

// The exported Check goes by the -update flag, under that name, and takes
// strings as well as bytes.
func TestCheckFollowsUpdateFlag(t *testing.T) {
	fl := flag.Lookup("update")
	if fl == nil {
		t.Fatal("no -update flag registered")
	}
	defer fl.Value.Set(fl.Value.String())
	cases := []struct {
		name, flag string
		fails      bool
	}{
		{"without -update a difference fails", "false", true},
		{"with -update the file is rewritten", "true", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.golden")
			if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := fl.Value.Set(tc.flag); err != nil {
				t.Fatal(err)
			}
			f := run(func(ft testing.TB) { Check(ft, path, "new\n") })
			g := run(func(ft testing.TB) { Check(ft, path, []byte("new\n")) })
			if fails := len(f.errors) > 0; fails != tc.fails || len(g.errors) != len(f.errors) {
				t.Errorf("string check reported %q, bytes check %q; want failing = %v from both", f.errors, g.errors, tc.fails)
			}
		})
	}
}

func ptr(s string) *string { return &s }
