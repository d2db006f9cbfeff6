package corpus

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
)

// tarball streams an npm .tgz once: members are parsed as they pass and the
// file is hashed on the way, so a 10 MB archive is never read twice or
// unpacked to disk.
type tarball struct {
	path    string
	raw     io.Reader // the file, teed into sum
	sum     hash.Hash
	gz      *gzip.Reader
	tr      *tar.Reader
	pkgJSON []byte // package/package.json, kept for checkPackage
}

func openTarball(path string, f io.Reader) (*tarball, error) {
	sum := sha256.New()
	raw := io.TeeReader(f, sum)
	gz, err := gzip.NewReader(raw)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: not a gzip file (re-fetch it with scripts/fetch-corpus.sh): %w", path, err)
	}
	return &tarball{path: path, raw: raw, sum: sum, gz: gz, tr: tar.NewReader(gz)}, nil
}

// each calls fn for every regular file in the archive, in archive order,
// with the member name as stored (npm prefixes them with "package/").
func (tb *tarball) each(fn func(member string, r io.Reader) error) error {
	for {
		hdr, err := tb.tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corpus: %s: read archive: %w", tb.path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Name == "package/package.json" {
			b, err := io.ReadAll(tb.tr)
			if err != nil {
				return fmt.Errorf("corpus: %s: member %s: %w", tb.path, hdr.Name, err)
			}
			tb.pkgJSON = b
			continue
		}
		if err := fn(hdr.Name, tb.tr); err != nil {
			return err
		}
	}
}

// checkPackage guards against a tarball renamed to the expected file name:
// the hash would catch it too, but this error says what is actually there.
func (tb *tarball) checkPackage(name, version string) error {
	const member = "package/package.json"
	if tb.pkgJSON == nil {
		return fmt.Errorf("corpus: %s: member %s is missing; this is not an npm tarball", tb.path, member)
	}
	var pj struct{ Name, Version string }
	if err := json.Unmarshal(tb.pkgJSON, &pj); err != nil {
		return fmt.Errorf("corpus: %s: member %s: %w", tb.path, member, err)
	}
	if pj.Name != name || pj.Version != version {
		return fmt.Errorf("corpus: %s: member %s names %s@%s, want %s@%s",
			tb.path, member, pj.Name, pj.Version, name, version)
	}
	return nil
}

// finish reads whatever the tar reader left (padding, gzip trailer) so the
// digest covers the whole file, and returns it as hex.
func (tb *tarball) finish() (string, error) {
	// Draining gzip checks its CRC; draining raw covers bytes past the gzip
	// stream that the decompressor never asked for.
	if _, err := io.Copy(io.Discard, tb.gz); err != nil {
		return "", fmt.Errorf("corpus: %s: %w", tb.path, err)
	}
	if _, err := io.Copy(io.Discard, tb.raw); err != nil {
		return "", fmt.Errorf("corpus: %s: %w", tb.path, err)
	}
	return hex.EncodeToString(tb.sum.Sum(nil)), nil
}
