package dialogs

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// TestDocExampleLoads keeps the format reference in doc.go honest: its
// trigger and step examples, put together, load without problems.
func TestDocExampleLoads(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	for _, line := range strings.Split(string(src), "\n") {
		if code, ok := strings.CutPrefix(line, "//\t"); ok {
			cur = append(cur, code)
			continue
		}
		if cur != nil {
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	var triggers, steps []string
	for _, b := range blocks {
		switch b[0] {
		case "triggers:":
			triggers = b
		case "steps:":
			steps = b
		}
	}
	if triggers == nil || steps == nil {
		t.Fatal("doc.go lost its triggers: or steps: example")
	}
	yaml := "id: doc\nversion: 1\nvars: {name: 客户, starts_at: \"2026-12-10T19:00:00+08:00\"}\n" +
		strings.Join(triggers, "\n") + "\n" + strings.Join(steps, "\n") + "\n"
	yaml = strings.ReplaceAll(yaml, "start: other_script", "end: true")
	fsys := fstest.MapFS{"doc.yaml": {Data: []byte(yaml)}}
	// The example points at steps it does not show; everything else must
	// hold.
	_, err = LoadFS(fsys, LoadOptions{})
	for _, p := range problemLines(err) {
		if !strings.Contains(p, "does not exist in doc") && !strings.Contains(p, "is never reached") {
			t.Errorf("%s\n%s", p, yaml)
		}
	}
}
