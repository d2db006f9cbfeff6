package server

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// uiHandler serves the web UI's built files; any path that is not a file
// gets index.html, so the UI's own routes survive a reload.
func uiHandler(files fs.FS) http.Handler {
	static := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if strings.HasPrefix(p, "api/") {
			writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Message: "no API route " + r.URL.Path})
			return
		}
		if p == "" {
			p = "index.html"
		}
		if st, err := fs.Stat(files, p); err != nil || st.IsDir() {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/"
			w.Header().Set("Cache-Control", "no-cache")
			static.ServeHTTP(w, r2)
			return
		}
		if strings.HasPrefix(p, "assets/") {
			// Vite names built assets by content hash.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		static.ServeHTTP(w, r)
	})
}
