package lab

import (
	"context"
	"io"
	"time"
)

// ArtifactInfo describes a file kept in the store.
type ArtifactInfo struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"` // hex
	UpdatedAt time.Time `json:"updated_at"`
}

// ArtifactStore keeps files that every machine sharing a store must be
// able to fetch: a queued tuning job's checkpoints and the model it
// produced. Files live in the database rather than on shared disk because
// the database is the one thing every worker already reaches.
type ArtifactStore interface {
	// PutArtifact stores everything r yields under name, replacing what
	// was there. It is all or nothing: a reader that fails or a context
	// canceled midway leaves the earlier content in place.
	PutArtifact(ctx context.Context, name string, r io.Reader) (ArtifactInfo, error)
	// Artifact describes one artifact, or fails with ErrNotFound.
	Artifact(ctx context.Context, name string) (ArtifactInfo, error)
	// ReadArtifact writes the artifact's bytes to w and checks them
	// against its hash; it fails with ErrNotFound when there is none. On
	// error w may hold part of the bytes, so write to a temporary file.
	ReadArtifact(ctx context.Context, name string, w io.Writer) (ArtifactInfo, error)
	// Artifacts describes every artifact, names in bytewise order (as Go
	// compares strings), so a listing reads the same from every backend.
	Artifacts(ctx context.Context) ([]ArtifactInfo, error)
}
