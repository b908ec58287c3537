package templates

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden renders the sample template on every channel and compares
// each with testdata/golden/<channel>.golden (go test -run TestGolden
// -update rewrites them).
func TestGolden(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tmpl := sample()
	tmpl.Version = 7
	for _, ch := range tmpl.ChannelOrder() {
		t.Run(string(ch), func(t *testing.T) {
			out, err := r.Render(tmpl, ch, sampleVars())
			if err != nil {
				t.Fatal(err)
			}
			got := goldenText(&out)
			path := filepath.Join("testdata", "golden", string(ch)+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got)\n%s", path, diff)
			}
		})
	}
}

// goldenText lays a Rendered out one field per section, so a diff reads
// like the message.
func goldenText(out *Rendered) string {
	var b strings.Builder
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "--- %s\n%s\n", name, v)
		}
	}
	field("channel", string(out.Channel))
	field("template", fmt.Sprintf("%s v%d", out.Template, out.Version))
	field("locale", out.Locale)
	field("variant", out.Variant)
	field("text", out.Text)
	field("title", out.Title)
	field("url", out.URL)
	field("template_id", out.TemplateID)
	for _, k := range sortedKeys(out.Fields) {
		field("fields."+k, out.Fields[k])
	}
	field("template_code", out.TemplateCode)
	for _, k := range sortedKeys(out.Params) {
		field("params."+k, out.Params[k])
	}
	field("subject", out.Subject)
	field("html", out.HTML)
	field("text_body", out.TextBody)
	return b.String()
}

func TestGoldenCoversEveryChannel(t *testing.T) {
	tmpl := sample()
	want := []channels.Channel{channels.WeCom, channels.OfficialAccount, channels.SMS, channels.Email}
	if diff := cmp.Diff(want, tmpl.ChannelOrder()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
