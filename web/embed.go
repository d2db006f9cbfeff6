// Package web holds tunelab's browser UI: a Vite + React app under src/
// whose built assets, dist/, are committed and embedded here, so the
// binary serves the UI without npm or network at run time. Rebuild dist/
// with `make web` after changing src/.
package web

import "embed"

// Dist is the built UI; its files sit under "dist/" (index.html at
// dist/index.html).
//
//go:embed all:dist
var Dist embed.FS
