package email

import (
	"strings"
	"testing"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"
)

func newTestTracker(t testing.TB) *tracker {
	return &tracker{tokens: newTestTokens(t, testclock.New(testNow)), base: testBase, attrBase: testBase}
}

var linkClaim = Claim{MessageID: "m1", ContactID: "c1", Address: "a@example.com", Campaign: "k"}

// tracked replaces each click link in s by "{click URL}", so expectations
// read as what the recipient would reach.
func tracked(t testing.TB, tr *tracker, s string) string {
	t.Helper()
	prefix := tr.base + routeClick
	var out strings.Builder
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			out.WriteString(s)
			return out.String()
		}
		out.WriteString(s[:i])
		s = s[i+len(prefix):]
		n := 0
		for n < len(s) && isBase64URL(s[n]) {
			n++
		}
		c, err := tr.tokens.Verify(s[:n], KindClick)
		if err != nil {
			t.Errorf("token %q: %v", s[:n], err)
		}
		if diff := cmp.Diff(Claim{Kind: KindClick, MessageID: "m1", ContactID: "c1", Address: "a@example.com", Campaign: "k", URL: c.URL}, c); diff != "" {
			t.Errorf("claim (-want +got):\n%s", diff)
		}
		out.WriteString("{click " + c.URL + "}")
		s = s[n:]
	}
}

func TestRewriteLinks(t *testing.T) {
	tr := newTestTracker(t)
	tests := []struct{ name, in, want string }{
		{"double quotes", `<a href="https://e.com/x">x</a>`, `<a href="{click https://e.com/x}">x</a>`},
		{"single quotes, upper case", `<A HREF='http://e.com/'>`, `<A HREF='{click http://e.com/}'>`},
		{"unquoted gets quotes", `<a href=https://e.com/u class=b>`, `<a href="{click https://e.com/u}" class=b>`},
		{"entities are decoded for the claim", `<a href="https://e.com/?a=1&amp;b=2">`, `<a href="{click https://e.com/?a=1&b=2}">`},
		{"attributes across lines", "<a\n  class=\"c\"\n  href = \"https://e.com/\"\n>", "<a\n  class=\"c\"\n  href = \"{click https://e.com/}\"\n>"},
		{"area", `<area href="https://e.com/m">`, `<area href="{click https://e.com/m}">`},
		{"first href wins", `<a href="https://e.com/1" href="https://e.com/2">`, `<a href="{click https://e.com/1}" href="https://e.com/2">`},
		{"mailto, tel, anchor, relative stay", `<a href="mailto:a@b.cn"><a href="tel:10086"><a href="#x"><a href="/p">`, `<a href="mailto:a@b.cn"><a href="tel:10086"><a href="#x"><a href="/p">`},
		{"javascript stays", `<a href="javascript:alert(1)">`, `<a href="javascript:alert(1)">`},
		{"our unsubscribe link stays", `<a href="` + testBase + `/u/TOKEN">`, `<a href="` + testBase + `/u/TOKEN">`},
		{"our tracking links stay", `<a href="` + testBase + `/t/o/TOKEN">`, `<a href="` + testBase + `/t/o/TOKEN">`},
		{"other tags stay", `<link href="https://e.com/s.css"><abbr href="https://e.com/">`, `<link href="https://e.com/s.css"><abbr href="https://e.com/">`},
		{"href in text stays", `see href="https://e.com/" here`, `see href="https://e.com/" here`},
		{"a without href", `<a name="top">x</a>`, `<a name="top">x</a>`},
		{"unterminated tag is left alone", `<a href="https://e.com/`, `<a href="https://e.com/`},
		{"too long to sign stays", `<a href="https://e.com/` + strings.Repeat("x", 2100) + `">`, `<a href="https://e.com/` + strings.Repeat("x", 2100) + `">`},
		{"lone angle brackets", `a < b > c <a href="https://e.com/">`, `a < b > c <a href="{click https://e.com/}">`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tracked(t, tr, string(tr.rewriteLinks(nil, tt.in, linkClaim)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRewriteLinksSignsRepeatsOnce(t *testing.T) {
	tr := newTestTracker(t)
	out := string(tr.rewriteLinks(nil, `<a href="https://e.com/">1</a><a href="https://e.com/">2</a>`, linkClaim))
	links := hrefRE.FindAllStringSubmatch(out, -1)
	if len(links) != 2 || links[0][1] != links[1][1] {
		t.Errorf("a repeated link should get the same token: %s", out)
	}
}

func TestBodyEnd(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"<html><body>x</body></html>", 13},
		{"<BODY>x</BODY>", 7},
		{"<p>no body tag</p>", 18},
		{"</body> twice </body>", 14},
		{"", 0},
	}
	for _, tt := range tests {
		if got := bodyEnd(tt.in); got != tt.want {
			t.Errorf("bodyEnd(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
