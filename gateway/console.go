package gateway

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// The console is three hand-written files embedded in the binary, so it
// works on an intranet with no CDN and ships with the API it talks to.
//
//go:embed console/index.html console/app.js console/app.css
var consoleFS embed.FS

// consoleCSP allows only the console's own files and API: no inline script
// or style, no third-party origin, no framing, so an injected string in a
// template or contact field can never run as code in a marketer's browser.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"font-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// consoleAsset is one file ready to serve.
type consoleAsset struct {
	body  []byte
	ctype string
	etag  string
}

// consoleAssets holds the files with index.html naming the others by a
// content hash (app.js?v=...), so the assets can be cached for a year and
// a new binary is picked up at once: index.html itself is revalidated on
// every load.
type consoleAssets struct {
	version string
	files   map[string]consoleAsset
}

func loadConsole() (*consoleAssets, error) {
	read := func(name string) ([]byte, error) { return consoleFS.ReadFile("console/" + name) }
	js, err := read("app.js")
	if err != nil {
		return nil, fmt.Errorf("gateway: console: %w", err)
	}
	css, err := read("app.css")
	if err != nil {
		return nil, fmt.Errorf("gateway: console: %w", err)
	}
	html, err := read("index.html")
	if err != nil {
		return nil, fmt.Errorf("gateway: console: %w", err)
	}
	sum := sha256.New()
	sum.Write(js)
	sum.Write(css)
	version := hex.EncodeToString(sum.Sum(nil))[:12]
	html = bytes.ReplaceAll(html, []byte("__VERSION__"), []byte(version))
	a := &consoleAssets{version: version, files: map[string]consoleAsset{}}
	for name, f := range map[string]struct {
		body  []byte
		ctype string
	}{"index.html": {html, "text/html; charset=utf-8"}, "app.js": {js, "text/javascript; charset=utf-8"}, "app.css": {css, "text/css; charset=utf-8"}} {
		h := sha256.Sum256(f.body)
		a.files[name] = consoleAsset{body: f.body, ctype: f.ctype, etag: `"` + hex.EncodeToString(h[:8]) + `"`}
	}
	return a, nil
}

// consoleRedirect sends /console to /console/, so relative asset URLs resolve.
func (s *Server) consoleRedirect(c *gin.Context) {
	c.Redirect(http.StatusMovedPermanently, "/console/")
}

// console serves the console's files. Routes inside the console live in
// the URL fragment (#/templates/...), so only these three paths exist.
func (s *Server) console(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
	if name == "" || name == "." {
		name = "index.html"
	}
	f, ok := s.consoleFiles.files[name]
	if !ok {
		fail(c, newError(KindRouteNotFound, "the console has no file %s", name))
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("ETag", f.etag)
	if name != "index.html" && c.Query("v") == s.consoleFiles.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if c.GetHeader("If-None-Match") == f.etag {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, f.ctype, f.body)
}
