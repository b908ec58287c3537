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

// The console is a few hand-written files embedded in the binary, so it
// works on an intranet with no CDN and ships with the API it talks to:
// app.js is the frame (log-in, nav, API calls) and each other script holds
// pages, split so no file grows past what one person reads in a sitting.
//
//go:embed console/index.html console/*.js console/app.css
var consoleFS embed.FS

// consoleScripts are the scripts index.html loads, in its order: the frame
// first, then the pages in nav order.
var consoleScripts = []string{"app.js", "templates.js", "pages.js", "reports.js", "transfer.js", "audit.js"}

// consoleCSP allows only the console's own files and API: no inline script
// or style, no third-party origin, no framing, so an injected string in a
// template or contact field can never run as code in a marketer's browser.
// File downloads (CSV, XLSX, JSON) are blob: links the page makes after
// fetching the file with its token; they need no source in the policy.
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
// every load. One hash covers every script and the stylesheet, so a change
// to any of them renames them all.
type consoleAssets struct {
	version string
	files   map[string]consoleAsset
}

func loadConsole() (*consoleAssets, error) {
	type file struct {
		body  []byte
		ctype string
	}
	files := map[string]file{}
	sum := sha256.New()
	for _, name := range append(append([]string{}, consoleScripts...), "app.css", "index.html") {
		body, err := consoleFS.ReadFile("console/" + name)
		if err != nil {
			return nil, fmt.Errorf("gateway: console: %w", err)
		}
		ctype := "text/javascript; charset=utf-8"
		switch path.Ext(name) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".html":
			ctype = "text/html; charset=utf-8"
		}
		if name != "index.html" {
			sum.Write(body)
		}
		files[name] = file{body, ctype}
	}
	version := hex.EncodeToString(sum.Sum(nil))[:12]
	index := files["index.html"]
	index.body = bytes.ReplaceAll(index.body, []byte("__VERSION__"), []byte(version))
	files["index.html"] = index
	a := &consoleAssets{version: version, files: map[string]consoleAsset{}}
	for name, f := range files {
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
// the URL fragment (#/templates/...), so only the embedded files exist.
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
