// Package example holds the example lab that `tunelab init` writes: a
// support-ticket routing task with a dataset and a help-centre knowledge
// folder that the project wrote itself, so a new user has something real
// to run before bringing their own data.
package example

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tunelab/tunelab/internal/fsutil"
)

// The bundled base model (models/tunelab-base.gguf, made by `tunelab model
// pretrain`; its recipe and measurements are in models/tunelab-base.json)
// goes into every new lab as local:base, so the example runs offline.
//
//go:embed tunelab.yaml data models/tunelab-base.gguf models/tunelab-base.json
var files embed.FS

// Write creates the example lab in dir. It refuses to overwrite an existing
// lab so that `tunelab init` can never destroy a user's work.
func Write(dir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(dir, "tunelab.yaml")); err == nil {
		return nil, fmt.Errorf("%s already holds a lab (tunelab.yaml exists): choose an empty directory", dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("init %s: %w", dir, err)
	}
	var written []string
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(target(p)))
		if err := fsutil.WriteFileAtomic(dst, data, 0o644); err != nil {
			return err
		}
		written = append(written, dst)
		return nil
	})
	if err != nil {
		return written, fmt.Errorf("init %s: %w", dir, err)
	}
	return written, nil
}

// target maps an embedded path to its place in the lab: the knowledge
// folder sits at the lab's top level, where users expect to drop documents.
func target(p string) string {
	if rest, ok := strings.CutPrefix(p, "data/knowledge/"); ok {
		return path.Join("knowledge", rest)
	}
	if rest, ok := strings.CutPrefix(p, "models/tunelab-base"); ok {
		return "models/base" + rest
	}
	return p
}
