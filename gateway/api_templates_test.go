package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const reminderJSON = `{"name": "Webinar reminder", "purpose": "marketing", "channels": {
  "wecom": {"text": "{{.name}}，研讨会明天开始"},
  "sms": {"template_code": "SMS_123456", "params": {"name": "{{.name}}"}},
  "email": {"subject": "明天见", "html": "<p>{{.name}}</p>", "text": "{{.name}}"}}}`

func TestTemplateVersionsAndPreview(t *testing.T) {
	h := newHarness(t)
	r := h.api(http.MethodPut, "/api/v1/templates/webinar_reminder", reminderJSON)
	if r.Status != http.StatusOK || r.json(t)["changed"] != true {
		t.Fatalf("first save: %d %s", r.Status, r.Body)
	}
	if r := h.api(http.MethodPut, "/api/v1/templates/webinar_reminder", reminderJSON); r.json(t)["changed"] != false {
		t.Errorf("saving identical content made a new version: %s", r.Body)
	}
	edited := strings.Replace(reminderJSON, "研讨会明天开始", "研讨会明早九点开始", 1)
	h.api(http.MethodPut, "/api/v1/templates/webinar_reminder", edited)

	var versions []any
	for _, v := range h.api(http.MethodGet, "/api/v1/templates/webinar_reminder/versions", "").json(t)["versions"].([]any) {
		versions = append(versions, v.(map[string]any)["version"])
	}
	if diff := cmp.Diff([]any{2.0, 1.0}, versions); diff != "" {
		t.Errorf("versions, newest first (-want +got):\n%s", diff)
	}
	v1 := h.api(http.MethodGet, "/api/v1/templates/webinar_reminder?version=1", "").json(t)
	if !strings.Contains(v1["channels"].(map[string]any)["wecom"].(map[string]any)["text"].(string), "明天开始") {
		t.Errorf("version 1 lost its text: %v", v1)
	}

	// Preview with a real contact: vars override its fields.
	h.api(http.MethodPost, "/api/v1/events", `{"contact":{"phone":"13800138000"},"type":"signup"}`)
	p := h.api(http.MethodPost, "/api/v1/templates/webinar_reminder/preview", `{"vars":{"name":"王伟"},"contact":{"phone":"13800138000"}}`)
	if p.Status != http.StatusOK {
		t.Fatalf("preview: %d %s", p.Status, p.Body)
	}
	got := map[string]string{}
	for _, ch := range p.json(t)["channels"].([]any) {
		c := ch.(map[string]any)
		if rendered, ok := c["rendered"].(map[string]any); ok {
			got[c["channel"].(string)] = firstNonEmpty(rendered["text"], rendered["subject"], rendered["template_code"])
		} else {
			got[c["channel"].(string)] = "error: " + c["error"].(string)
		}
	}
	want := map[string]string{"wecom": "王伟，研讨会明早九点开始", "sms": "SMS_123456", "email": "明天见"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preview per channel (-want +got):\n%s", diff)
	}
	// Without the variable each channel reports its own error.
	p = h.api(http.MethodPost, "/api/v1/templates/webinar_reminder/preview", `{"vars":{}}`)
	for _, ch := range p.json(t)["channels"].([]any) {
		if e, _ := ch.(map[string]any)["error"].(string); !strings.Contains(e, "name") {
			t.Errorf("preview without vars: %v, want an error naming the variable", ch)
		}
	}
}

func firstNonEmpty(vals ...any) string {
	for _, v := range vals {
		if s, _ := v.(string); s != "" {
			return s
		}
	}
	return ""
}

func TestTemplateRejectsBadBodies(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ name, body, mentions string }{
		{"no channels", `{"name":"x","purpose":"marketing","channels":{}}`, "channel"},
		{"bad purpose", strings.Replace(reminderJSON, `"marketing"`, `"spam"`, 1), "purpose"},
		{"sms without code", `{"name":"x","purpose":"service","channels":{"sms":{"params":{"a":"b"}}}}`, "template_code"},
		{"call is refused", `{"name":"x","purpose":"service","channels":{"wecom":{"text":"{{call .f}}"}}}`, "call"},
		{"define is refused", `{"name":"x","purpose":"service","channels":{"wecom":{"text":"{{define \"a\"}}x{{end}}"}}}`, "define"},
		{"unknown field", `{"name":"x","purpose":"service","colour":"red","channels":{"wecom":{"text":"x"}}}`, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodPut, "/api/v1/templates/t1", tt.body)
			if r.Status != http.StatusBadRequest || !strings.Contains(r.json(t)["error"].(string), tt.mentions) {
				t.Errorf("got %d %s; want 400 mentioning %q", r.Status, r.Body, tt.mentions)
			}
		})
	}
	if r := h.api(http.MethodGet, "/api/v1/templates/t1", ""); r.Status != http.StatusNotFound || r.code(t) != KindNoTemplate.Code {
		t.Errorf("rejected saves stored something: %d %s", r.Status, r.Body)
	}
}
