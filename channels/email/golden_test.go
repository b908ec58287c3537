package email

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// TestRenderGolden pins a tracked marketing mail: headers and their
// encodings, parts, rewritten links and pixel. Review a diff here as
// carefully as a change to what customers receive.
func TestRenderGolden(t *testing.T) {
	s := newTestSender(t, "127.0.0.1:25", nil)
	msg, err := s.render(campaignMessage("01JBQ7Z3W9F7K2M4N5P6"))
	if err != nil {
		t.Fatal(err)
	}
	got := canonical(t, msg)
	path := filepath.Join("testdata", "marketing.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRenderGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("rendered message differs from %s (-want +got):\n%s", path, diff)
	}
}

var boundaryRE = regexp.MustCompile(`boundary=([0-9a-f]+)`)

// canonical makes a rendering comparable across runs: jordan-wright/email
// writes the top-level headers in map order and draws a random MIME
// boundary. Headers are sorted (folded lines stay with their field) and the
// boundary is named BOUNDARY.
func canonical(t *testing.T, msg []byte) []byte {
	t.Helper()
	head, body, ok := bytes.Cut(msg, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no header/body separator in:\n%s", msg)
	}
	var fields []string
	for _, line := range strings.Split(string(head), "\r\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
			continue
		}
		fields = append(fields, line)
	}
	slices.Sort(fields)
	out := strings.Join(fields, "\r\n") + "\r\n\r\n" + string(body)
	if m := boundaryRE.FindStringSubmatch(out); m != nil {
		out = strings.ReplaceAll(out, m[1], "BOUNDARY")
	}
	return []byte(out)
}
