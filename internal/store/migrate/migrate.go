// Package migrate loads the versioned schema migrations that each store
// backend embeds, and defines the error every backend returns when a
// database was written by a newer tunelab than the one opening it. Applying
// the migrations stays in the backends, because locking and transaction
// control differ between SQLite and PostgreSQL.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema step. Version N turns a schema at version N-1
// into version N.
type Migration struct {
	Version int
	Name    string // file name, for error messages and the migrations table
	SQL     string
}

// Load reads the migrations in dir of fsys. Files are named
// NNNN_description.sql; versions must start at 1 and have no gaps, so that
// a database's recorded version alone says which steps it has had.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", e.Name())
		}
		v, err := strconv.Atoi(num)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a version number from 1 up", e.Name())
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("migration %s is empty", e.Name())
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			if i > 0 && out[i-1].Version == m.Version {
				return nil, fmt.Errorf("migrations %s and %s share version %d", out[i-1].Name, m.Name, m.Version)
			}
			return nil, fmt.Errorf("migration %s: expected version %d (versions must be 1, 2, 3, ... without gaps)", m.Name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations in %s", dir)
	}
	return out, nil
}

// ErrSchemaTooNew matches (with errors.Is) the error a backend returns for a
// database whose schema is newer than this binary knows.
var ErrSchemaTooNew = errors.New("database schema is newer than this tunelab")

// TooNewError says which database is too new and by how much.
type TooNewError struct {
	Where string // the database, as the user named it (path or host/db/schema)
	Have  int    // the version recorded in the database
	Known int    // the newest version this binary has migrations for
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("database %s has schema version %d, but this tunelab only knows versions up to %d: "+
		"it was written by a newer tunelab; upgrade tunelab to open it", e.Where, e.Have, e.Known)
}

// Is makes errors.Is(err, ErrSchemaTooNew) true.
func (e *TooNewError) Is(target error) bool { return target == ErrSchemaTooNew }
