package serving

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// PartSize bounds one stored row of an artifact: small enough that neither
// database holds a large value in one piece, large enough that a model of
// tens of MiB is a handful of rows.
const PartSize = 4 << 20

// PutArtifact stores r's bytes under name in one transaction, so readers
// see the old content or the new, never a mix.
func (o *Ops) PutArtifact(ctx context.Context, name string, r io.Reader) (lab.ArtifactInfo, error) {
	if strings.TrimSpace(name) == "" {
		return lab.ArtifactInfo{}, errors.New("put artifact: empty name")
	}
	info := lab.ArtifactInfo{Name: name, UpdatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	buf := make([]byte, PartSize)
	h := sha256.New()
	err := o.DB.Tx(ctx, func(tx DB) error {
		// The parent row first: parts refer to it.
		if _, err := tx.Exec(ctx, `INSERT INTO artifacts (name, size, sha256, parts, updated_at) VALUES (?, 0, '', 0, ?)
			ON CONFLICT (name) DO NOTHING`, name, info.UpdatedAt.UnixMicro()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM artifact_parts WHERE name = ?`, name); err != nil {
			return err
		}
		parts := 0
		for {
			n, rerr := io.ReadFull(r, buf)
			if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
				return fmt.Errorf("read content: %w", rerr)
			}
			if n > 0 || parts == 0 {
				h.Write(buf[:n])
				info.Size += int64(n)
				if _, err := tx.Exec(ctx, `INSERT INTO artifact_parts (name, part, data) VALUES (?, ?, ?)`,
					name, parts, buf[:n:n]); err != nil {
					return err
				}
				parts++
			}
			if rerr != nil || ctx.Err() != nil {
				if err := ctx.Err(); err != nil {
					return err
				}
				break
			}
		}
		info.SHA256 = hex.EncodeToString(h.Sum(nil))
		_, err := tx.Exec(ctx, `UPDATE artifacts SET size = ?, sha256 = ?, parts = ?, updated_at = ? WHERE name = ?`,
			info.Size, info.SHA256, parts, info.UpdatedAt.UnixMicro(), name)
		return err
	})
	if err != nil {
		return lab.ArtifactInfo{}, fmt.Errorf("put artifact %s in %s: %w", name, o.Where, err)
	}
	return info, nil
}

// Artifact describes one artifact.
func (o *Ops) Artifact(ctx context.Context, name string) (lab.ArtifactInfo, error) {
	info := lab.ArtifactInfo{Name: name}
	found := false
	var micros int64
	err := o.DB.Query(ctx, `SELECT size, sha256, updated_at FROM artifacts WHERE name = ?`, func(scan func(...any) error) error {
		found = true
		return scan(&info.Size, &info.SHA256, &micros)
	}, name)
	if err != nil {
		return lab.ArtifactInfo{}, fmt.Errorf("read artifact %s from %s: %w", name, o.Where, err)
	}
	if !found {
		return lab.ArtifactInfo{}, fmt.Errorf("artifact %s in %s: %w", name, o.Where, lab.ErrNotFound)
	}
	info.UpdatedAt = time.UnixMicro(micros).UTC()
	return info, nil
}

// ReadArtifact streams the artifact's parts to w in one statement, so they
// all come from the same version, and checks size and hash at the end.
func (o *Ops) ReadArtifact(ctx context.Context, name string, w io.Writer) (lab.ArtifactInfo, error) {
	info := lab.ArtifactInfo{Name: name}
	h := sha256.New()
	var got int64
	rows, next := 0, int64(0)
	var micros int64
	err := o.DB.Query(ctx, `SELECT a.size, a.sha256, a.updated_at, p.part, p.data FROM artifacts a
		JOIN artifact_parts p ON p.name = a.name WHERE a.name = ? ORDER BY p.part`, func(scan func(...any) error) error {
		var part int64
		var data []byte
		if err := scan(&info.Size, &info.SHA256, &micros, &part, &data); err != nil {
			return err
		}
		if part != next {
			return fmt.Errorf("part %d is missing", next)
		}
		next++
		rows++
		h.Write(data)
		got += int64(len(data))
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write content: %w", err)
		}
		return nil
	}, name)
	if err != nil {
		return lab.ArtifactInfo{}, fmt.Errorf("read artifact %s from %s: %w", name, o.Where, err)
	}
	if rows == 0 {
		return lab.ArtifactInfo{}, fmt.Errorf("artifact %s in %s: %w", name, o.Where, lab.ErrNotFound)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); got != info.Size || sum != info.SHA256 {
		return lab.ArtifactInfo{}, fmt.Errorf("read artifact %s from %s: content does not match its record (%d bytes, sha256 %s; recorded %d, %s)",
			name, o.Where, got, sum, info.Size, info.SHA256)
	}
	info.UpdatedAt = time.UnixMicro(micros).UTC()
	return info, nil
}

// Artifacts describes every artifact. Names are sorted here rather than in
// SQL because PostgreSQL orders text by the database's collation, which
// need not be bytewise.
func (o *Ops) Artifacts(ctx context.Context) ([]lab.ArtifactInfo, error) {
	var out []lab.ArtifactInfo
	err := o.DB.Query(ctx, `SELECT name, size, sha256, updated_at FROM artifacts`, func(scan func(...any) error) error {
		var info lab.ArtifactInfo
		var micros int64
		if err := scan(&info.Name, &info.Size, &info.SHA256, &micros); err != nil {
			return err
		}
		info.UpdatedAt = time.UnixMicro(micros).UTC()
		out = append(out, info)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list artifacts in %s: %w", o.Where, err)
	}
	slices.SortFunc(out, func(a, b lab.ArtifactInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
