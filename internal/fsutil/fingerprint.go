package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Fingerprint identifies a large file cheaply: its size and a hash of its
// first and last MiB. It tells apart any two model files (their headers
// and last tensors differ) without reading hundreds of megabytes, so
// caches and job ids keyed on a model notice when the file is replaced.
func Fingerprint(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	buf := make([]byte, 1<<20)
	h := sha256.New()
	fmt.Fprintf(h, "%d:", st.Size())
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("fingerprint %s: %w", path, err)
	}
	h.Write(buf[:n])
	if st.Size() > 2<<20 {
		if _, err := f.ReadAt(buf, st.Size()-int64(len(buf))); err != nil {
			return "", fmt.Errorf("fingerprint %s: %w", path, err)
		}
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SHA256 is the hex SHA-256 of a whole file, for comparing a local copy
// with one kept elsewhere byte for byte.
func SHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
