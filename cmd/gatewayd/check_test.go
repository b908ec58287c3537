package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/journeygate/gateway/configs"
)

func TestCheckPassesOnShippedFiles(t *testing.T) {
	cfg, err := configs.Load([]string{"../../configs/gateway.yaml", "../../configs/demo.yaml"}, func(k string) (string, bool) {
		v, ok := map[string]string{"ADMIN_TOKEN": "0123456789abcdef0", "TRACKING_SECRET": "0123456789abcdef0", "DIALOGS_DIR": "../../configs/dialogs"}[k]
		return v, ok
	})
	if err == nil {
		err = cfg.Validate()
	}
	if problems := check(cfg, err, "../../configs/templates"); len(problems) != 0 {
		t.Fatalf("shipped files have problems:\n%s", strings.Join(problems, "\n"))
	}
}

func TestCheckReportsEveryProblemWithItsFile(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates")
	dlg := filepath.Join(dir, "dialogs")
	for _, d := range []string{tpl, dlg} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(tpl, "bad.json"), `{"name": "x", "purpose": "spam", "channels": {}}`)
	write(filepath.Join(tpl, "broken.json"), "{\n  \"name\": \"x\",\n  \"colour\": 1}")
	write(filepath.Join(dlg, "hello.yaml"), "id: hello\nversion: 1\ntriggers:\n  - keyword: [你好]\nsteps:\n  - id: hi\n    send: {template: missing_template}\n")
	cfg := configs.Default()
	cfg.Dialogs.Dir = dlg
	got := strings.Join(check(cfg, cfg.Validate(), tpl), "\n")
	for _, want := range []string{"ADMIN_TOKEN", "bad.json: purpose", "bad.json: channels", "broken.json:3:", "hello.yaml:7:", "missing_template"} {
		if !strings.Contains(got, want) {
			t.Errorf("check output lacks %q:\n%s", want, got)
		}
	}
}
