package migrate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	file := func(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }
	tests := []struct {
		name      string
		files     fstest.MapFS
		wantNames []string
		wantErr   string
	}{
		{"ordered by version, not by name", fstest.MapFS{
			"m/0010_ten.sql": file("SELECT 10;"), "m/0002_two.sql": file("SELECT 2;"),
			"m/0001_one.sql": file("SELECT 1;"), "m/README.md": file("ignored"),
			"m/0003_three.sql": file("SELECT 3;"), "m/4_four.sql": file("SELECT 4;"),
			"m/05_five.sql": file("SELECT 5;"), "m/0006_6.sql": file("SELECT 6;"), "m/0007_7.sql": file("SELECT 7;"),
			"m/0008_8.sql": file("SELECT 8;"), "m/0009_9.sql": file("SELECT 9;"),
		}, []string{"0001_one.sql", "0002_two.sql", "0003_three.sql", "4_four.sql", "05_five.sql", "0006_6.sql",
			"0007_7.sql", "0008_8.sql", "0009_9.sql", "0010_ten.sql"}, ""},
		{"gap", fstest.MapFS{"m/0001_a.sql": file("x"), "m/0003_c.sql": file("x")}, nil, "expected version 2"},
		{"duplicate", fstest.MapFS{"m/0001_a.sql": file("x"), "m/0001_b.sql": file("x")}, nil, "share version 1"},
		{"not starting at 1", fstest.MapFS{"m/0002_a.sql": file("x")}, nil, "expected version 1"},
		{"bad name", fstest.MapFS{"m/init.sql": file("x")}, nil, "NNNN_description.sql"},
		{"version zero", fstest.MapFS{"m/0000_a.sql": file("x")}, nil, "from 1 up"},
		{"empty file", fstest.MapFS{"m/0001_a.sql": file(" \n")}, nil, "is empty"},
		{"no migrations", fstest.MapFS{"m/notes.txt": file("x")}, nil, "no migrations"},
		{"missing dir", fstest.MapFS{}, nil, "read migrations m"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := Load(tc.files, "m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, m := range ms {
				names = append(names, m.Name)
				if m.Version != i+1 || m.SQL == "" {
					t.Errorf("migration %d = %+v", i, m)
				}
			}
			if fmt.Sprint(names) != fmt.Sprint(tc.wantNames) {
				t.Fatalf("order = %v, want %v", names, tc.wantNames)
			}
		})
	}
}

func TestTooNewError(t *testing.T) {
	err := fmt.Errorf("open store: %w", &TooNewError{Where: ".tunelab/tunelab.db", Have: 7, Known: 3})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatal("errors.Is(err, ErrSchemaTooNew) = false")
	}
	want := "open store: database .tunelab/tunelab.db has schema version 7, but this tunelab only knows versions up to 3: " +
		"it was written by a newer tunelab; upgrade tunelab to open it"
	if err.Error() != want {
		t.Fatalf("message:\n got %s\nwant %s", err, want)
	}
}
