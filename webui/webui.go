// Package webui holds Berth's web UI: static HTML, CSS and JavaScript,
// embedded into the binary (no build step). The edge's berth_webserver
// handler serves it.
package webui

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS returns the UI files: index.html (the login and session pages),
// app.js and style.css.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is embedded above: cannot happen
	}
	return sub
}
