package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func noEnv(string) (string, bool) { return "", false }

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShippedConfigsValidate(t *testing.T) {
	cfg, err := Load([]string{"gateway.yaml", "demo.yaml"}, envMap(readEnvFile(t, "demo.env")))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("gateway.yaml + demo.yaml do not validate:\n%v", err)
	}
	want := []Cap{
		{Name: "marketing-weekly", Purpose: "marketing", Channel: "any", Max: 3, Window: 168 * time.Hour},
		{Name: "sms-daily", Purpose: "marketing", Channel: "sms", Max: 1, Window: 24 * time.Hour},
	}
	if diff := cmp.Diff(want, cfg.Outreach.Caps); diff != "" {
		t.Errorf("caps (-want +got):\n%s", diff)
	}
}

func TestGatewayYAMLDocumentsEveryVariable(t *testing.T) {
	doc, err := os.ReadFile("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range EnvNames() {
		if !strings.Contains(string(doc), name) {
			t.Errorf("gateway.yaml does not mention %s", name)
		}
	}
}

func TestLayering(t *testing.T) {
	base := writeFile(t, "http: {addr: 127.0.0.1:1}\noutreach:\n  caps:\n    - {name: a, purpose: marketing, channel: any, max: 1, window: 1h}\n    - {name: b, purpose: marketing, channel: sms, max: 1, window: 1h}\nwecom: {corp_id: base, token: t}\n")
	over := writeFile(t, "outreach:\n  caps:\n    - {name: c, purpose: service, channel: email, max: 2, window: 2h}\nwecom: {token: over}\n")
	cfg, err := Load([]string{base, over}, envMap(map[string]string{"HTTP_ADDR": "0.0.0.0:9", "WECOM_API_BASE": ""}))
	if err != nil {
		t.Fatal(err)
	}
	got := struct {
		Addr, CorpID, Token string
		Caps                []string
	}{cfg.HTTP.Addr, cfg.WeCom.CorpID, cfg.WeCom.Token, nil}
	for _, c := range cfg.Outreach.Caps {
		got.Caps = append(got.Caps, c.Name)
	}
	want := struct {
		Addr, CorpID, Token string
		Caps                []string
	}{"0.0.0.0:9", "base", "over", []string{"c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layered config (-want +got):\n%s", diff)
	}
}

func TestLoadRejectsUnknownKeysWithFileAndLine(t *testing.T) {
	p := writeFile(t, "http:\n  adr: 127.0.0.1:1\n")
	_, err := Load([]string{p}, noEnv)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "adr") {
		t.Fatalf("Load = %v, want an error naming %s, line 2 and the key adr", err, p)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.HTTP.Addr = "nope"
	cfg.WeCom.AESKey = "short"
	cfg.Outreach.Caps = []Cap{{Name: "x", Purpose: "spam", Channel: "fax", Max: 0, Window: time.Second}, {Name: "x", Purpose: "marketing", Channel: "sms", Max: 1, Window: time.Hour}}
	cfg.Outreach.QuietHours = []QuietHours{{Channels: []string{"sms"}, Start: "25:00", End: "09:00", Timezone: "Mars/Olympus"}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, want := range []string{"HTTP_ADDR", "ADMIN_TOKEN", "TRACKING_SECRET", "WECOM_AES_KEY", "WECOM_TOKEN", "WECOM_CORP_ID",
		`purpose "spam"`, `channel "fax"`, "max must be at least 1", "window must be at least 1m", `name "x" is used twice`,
		`time "25:00"`, `timezone "Mars/Olympus"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error lacks %q:\n%v", want, err)
		}
	}
}

func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = strings.Trim(v, `"`)
		}
	}
	return env
}
