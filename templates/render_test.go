package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestRenderText(t *testing.T) {
	vars := map[string]any{
		"name":   "Li Lei",
		"score":  float64(80),
		"price":  99.5,
		"order":  float64(12345678),
		"items":  []any{"a", "b"},
		"empty":  []any{},
		"user":   map[string]any{"city": "上海"},
		"gone":   nil,
		"when":   "2026-03-01T02:00:00Z",
		"unix":   float64(1772330400),
		"long":   "一二三四五六七八九十",
		"query":  "a b&c",
		"blank":  "",
		"falsey": false,
	}
	tests := []struct {
		name, src, want string
	}{
		{"plain field", "Hi {{.name}}", "Hi Li Lei"},
		{"nested field", "{{.user.city}}", "上海"},
		{"whole float prints as an integer", "{{.order}} {{.score}}", "12345678 80"},
		{"fraction stays", "{{.price}}", "99.5"},
		{"compare with an int literal", "{{if gt .score 50}}hot{{end}}", "hot"},
		{"default on a missing key", "Hi {{default \"friend\" .nobody}}", "Hi friend"},
		{"default on a nested missing key", "{{default \"?\" .user.zip}} {{default \"?\" .nobody.zip}}", "? ?"},
		{"default piped", "Hi {{.nobody | default \"friend\"}}", "Hi friend"},
		{"default on null", "{{default \"none\" .gone}}", "none"},
		{"default on empty string", "{{default \"none\" .blank}}", "none"},
		{"default keeps false", "{{default true .falsey}}", "false"},
		{"default keeps a value", "{{default \"friend\" .name}}", "Li Lei"},
		{"if on a missing key is false", "{{if .coupon}}C{{else}}none{{end}}", "none"},
		{"with on a missing key", "{{with .coupon}}{{.}}{{else}}none{{end}}", "none"},
		{"and on missing keys", "{{if and .name .coupon}}both{{else}}one{{end}}", "one"},
		{"not on a missing key", "{{if not .coupon}}no coupon{{end}}", "no coupon"},
		{"range over a list", "{{range $i, $x := .items}}{{$i}}={{$x}};{{end}}", "0=a;1=b;"},
		{"range over a missing key runs else", "{{range .nothing}}x{{else}}none{{end}}", "none"},
		{"range over an empty list runs else", "{{range .empty}}x{{else}}none{{end}}", "none"},
		{"range over a map, sorted", "{{range $k, $v := .user}}{{$k}}:{{$v}}{{end}}", "city:上海"},
		{"break in a loop", "{{range .items}}{{.}}{{break}}{{end}}", "a"},
		{"upper lower trim", "{{upper .name}}/{{lower .name}}/[{{trim \"  x \"}}]", "LI LEI/li lei/[x]"},
		{"truncate cuts with an ellipsis", "{{truncate 5 .long}}|{{truncate 10 .long}}", "一二三四…|一二三四五六七八九十"},
		{"date from RFC 3339 in UTC+8", "{{date \"2006-01-02 15:04\" .when}}", "2026-03-01 10:00"},
		{"date from unix seconds", "{{date \"2006-01-02 15:04\" .unix}}", "2026-03-01 10:00"},
		{"urlquery", "{{urlquery .query}}", "a+b%26c"},
		{"index and len", "{{index .items 1}}{{len .items}}", "b2"},
		{"eq on strings", "{{if eq .name \"Li Lei\"}}yes{{end}}", "yes"},
		{"eq with default on a missing key", "{{if eq (default \"\" .plan) \"pro\"}}pro{{else}}basic{{end}}", "basic"},
		{"variables", "{{$n := .name}}{{$n}}", "Li Lei"},
	}
	r := newRenderer(t, RenderOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Render(wecomText(tc.src), channels.WeCom, vars)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.Text); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	vars := map[string]any{"name": "Li", "user": map[string]any{"city": "上海"}, "n": float64(1e9), "s": "x",
		"bad": "javascript:alert(1)", "nl": "a\r\nBcc: x@example.com"}
	tests := []struct {
		name string
		tmpl Template
		ch   channels.Channel
		want []string // substrings of the error, which must wrap ErrRender
	}{
		{"missing variable named", wecomText("Hi {{.nobody}}"), channels.WeCom,
			[]string{"channels.wecom.text", "missing variable .nobody", `add "nobody" to the vars`}},
		{"missing nested variable", wecomText("{{.user.zip}}"), channels.WeCom,
			[]string{"missing variable .user.zip"}},
		{"missing variable inside with", wecomText("{{with .user}}{{.zip}}{{end}}"), channels.WeCom,
			[]string{"missing variable .zip"}},
		{"range over a number", wecomText("{{range .n}}x{{end}}"), channels.WeCom,
			[]string{"line 1: range needs a list or a map from the data, got a number"}},
		{"range over a string", wecomText("{{range .s}}x{{end}}"), channels.WeCom,
			[]string{"got a string"}},
		{"renders empty", wecomText("{{.nothing | default \"\"}}"), channels.WeCom,
			[]string{"channels.wecom.text: renders empty"}},
		{"card URL must be http", Template{Channels: Channels{WeCom: &WeComBody{Text: "x", Title: "t", URL: "{{.bad}}"}}}, channels.WeCom,
			[]string{"channels.wecom.url", "not an absolute http or https URL"}},
		{"subject cannot break a header", Template{Channels: Channels{Email: &EmailBody{Subject: "Hi {{.nl}}", Text: "x"}}}, channels.Email,
			[]string{"channels.email.subject: renders a line break"}},
		{"email needs a body", Template{Channels: Channels{Email: &EmailBody{Subject: "s", Text: "{{default \"\" .x}}"}}}, channels.Email,
			[]string{"both html and text render empty"}},
		{"sms param cannot be empty", Template{Channels: Channels{SMS: &SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"code": "{{default \"\" .x}}"}}}}, channels.SMS,
			[]string{"channels.sms.params.code: renders empty"}},
		{"function error has its line", wecomText("a\n{{truncate 0 .name}}"), channels.WeCom,
			[]string{"line 2, at {{truncate $ 0 .name}}: truncate takes a length from 1 to 10000, got 0"}},
	}
	r := newRenderer(t, RenderOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Render(tc.tmpl, tc.ch, vars)
			if !errors.Is(err, ErrRender) {
				t.Fatalf("got %v, want an ErrRender", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRenderNoChannel(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	_, err := r.Render(wecomText("x"), channels.SMS, nil)
	if !errors.Is(err, ErrNoChannel) {
		t.Fatalf("got %v, want ErrNoChannel", err)
	}
}

// TestOutputLimits renders one past each platform limit, and exactly at
// it, per channel.
func TestOutputLimits(t *testing.T) {
	tests := []struct {
		name string
		body Channels
		ch   channels.Channel
		size int // the var's length in characters; the limit is passed at size+1
		want string
	}{
		{"wecom text 2048 bytes", Channels{WeCom: &WeComBody{Text: "{{.v}}"}}, channels.WeCom, 2048,
			"channels.wecom.text: renders more than 2048 bytes (WeCom's text limit)"},
		{"wecom card description 512 bytes", Channels{WeCom: &WeComBody{Text: "{{.v}}", Title: "t", URL: "https://e.com"}}, channels.WeCom, 512,
			"channels.wecom.text: renders more than 512 bytes"},
		{"official account text 2048 bytes", Channels{OfficialAccount: &OABody{Text: "{{.v}}"}}, channels.OfficialAccount, 2048,
			"channels.officialaccount.text: renders more than 2048 bytes"},
		{"sms param 35 characters", Channels{SMS: &SMSBody{TemplateCode: "SMS_1", Params: map[string]string{"p": "{{.v}}"}}}, channels.SMS, 35,
			"channels.sms.params.p: renders 36 characters, over 35 characters (Aliyun's variable limit)"},
		{"email subject 200 characters", Channels{Email: &EmailBody{Subject: "{{.v}}", Text: "x"}}, channels.Email, 200,
			"channels.email.subject: renders 201 characters, over 200 characters"},
		{"email html 512 KB", Channels{Email: &EmailBody{Subject: "s", HTML: "{{.v}}"}}, channels.Email, 512 << 10,
			"channels.email.html: renders more than 524288 bytes"},
	}
	r := newRenderer(t, RenderOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := Template{ID: "t", Channels: tc.body}
			char := "x"
			if tc.ch == channels.SMS || tc.name == "email subject 200 characters" {
				char = "字" // limits in characters count a CJK character as one
			}
			if _, err := r.Render(tmpl, tc.ch, map[string]any{"v": strings.Repeat(char, tc.size)}); err != nil {
				t.Fatalf("at the limit: %v", err)
			}
			_, err := r.Render(tmpl, tc.ch, map[string]any{"v": strings.Repeat(char, tc.size+1)})
			if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("past the limit: got %v, want an ErrRender containing %q", err, tc.want)
			}
		})
	}
}

// TestPathologicalTemplates shows the bounds stop templates that would
// run long, and quickly.
func TestPathologicalTemplates(t *testing.T) {
	list := func(n int) []any {
		l := make([]any, n)
		for i := range l {
			l[i] = float64(i)
		}
		return l
	}
	long := strings.Repeat("x", 500<<10)
	tests := []struct {
		name string
		src  string
		vars map[string]any
		opts RenderOptions
		want string
	}{
		{"a loop over a huge list is refused before it starts", "{{range .l}}{{end}}",
			map[string]any{"l": list(60_000)}, RenderOptions{}, "needs more than 50000 steps"},
		{"loops inside loops run out of steps", "{{range .l}}{{range $.l}}{{range $.l}}{{$x := .}}{{end}}{{end}}{{end}}",
			map[string]any{"l": list(100)}, RenderOptions{}, "needs more than 50000 steps"},
		{"string functions pay by the byte", "{{range .l}}{{$x := upper $.s}}{{end}}",
			map[string]any{"l": list(1000), "s": long}, RenderOptions{}, "needs more than 50000 steps"},
		{"a slow loop is stopped by the deadline", "{{range .l}}{{if eq $.a $.b}}{{end}}{{end}}",
			map[string]any{"l": list(1000), "a": long, "b": long + ""},
			RenderOptions{Timeout: 50 * time.Millisecond, Now: steppingClock(time.Millisecond)}, "rendering took longer than 50ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRenderer(t, tc.opts)
			start := time.Now()
			_, err := r.Render(wecomText(tc.src), channels.WeCom, tc.vars)
			if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrRender containing %q", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("stopping took %v", d)
			}
		})
	}
}

// TestWorstAllowedLoopIsFast measures a render that spends nearly the
// whole step budget: the budget, not luck, is what keeps renders short.
func TestWorstAllowedLoopIsFast(t *testing.T) {
	l := make([]any, 200)
	for i := range l {
		l[i] = float64(i)
	}
	r := newRenderer(t, RenderOptions{Timeout: time.Hour})
	// 200 × (1 + 200 × 1) steps is about 40,000, under the 50,000 budget.
	tmpl := wecomText("{{range .l}}{{range $.l}}{{end}}{{end}}done")
	start := time.Now()
	out, err := r.Render(tmpl, channels.WeCom, map[string]any{"l": l})
	if err != nil {
		t.Fatal(err)
	}
	if out.Text != "done" {
		t.Fatalf("got %q", out.Text)
	}
	t.Logf("40,000 steps took %v", time.Since(start))
}

func TestRenderHTMLEscapes(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tmpl := Template{ID: "t", Channels: Channels{Email: &EmailBody{Subject: "{{.name}}",
		HTML: `<p>{{.name}}</p><a href="{{.link}}">go</a><a href="https://e.com/?q={{.name}}">q</a>` +
			`<p>{{default "friend" .nobody}} {{upper .name}}{{if .coupon}}!{{end}}{{range .none}}x{{end}}</p>`}}}
	out, err := r.Render(tmpl, channels.Email, map[string]any{"name": "<b>A&B</b>", "link": "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	want := Rendered{Channel: channels.Email, Template: "t", Subject: "<b>A&B</b>",
		HTML: `<p>&lt;b&gt;A&amp;B&lt;/b&gt;</p><a href="#ZgotmplZ">go</a><a href="https://e.com/?q=%3cb%3eA%26B%3c%2fb%3e">q</a>` +
			`<p>friend &lt;B&gt;A&amp;B&lt;/B&gt;</p>`}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestRenderData(t *testing.T) {
	type custom struct{ A int }
	tests := []struct {
		name string
		vars map[string]any
		src  string
		want string
		err  string
	}{
		{"typed maps and slices", map[string]any{"m": map[string]string{"a": "x"}, "l": []string{"p", "q"}}, "{{.m.a}}{{index .l 1}}", "xq", ""},
		{"go ints and named types", map[string]any{"i": 7, "u": uint8(9), "d": time.Duration(3)}, "{{.i}} {{.u}} {{.d}}", "7 9 3", ""},
		{"time values", map[string]any{"t": time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)}, "{{date \"15:04\" .t}}", "11:04", ""},
		{"pointers", map[string]any{"p": ptr("x")}, "{{.p}}", "x", ""},
		{"null in a list prints nothing", map[string]any{"l": []any{"a", nil, "b"}}, "{{range .l}}[{{.}}]{{end}}", "[a][][b]", ""},
		{"structs are refused", map[string]any{"s": custom{A: 1}}, "x", "", "vars.s: templates.custom is not plain data"},
		{"nested refusal names the path", map[string]any{"a": map[string]any{"b": []any{make(chan int)}}}, "x", "", "vars.a.b.0: chan int is not plain data"},
		{"too much data", map[string]any{"s": strings.Repeat("x", maxDataBytes+1)}, "x", "", "vars.s: the data is larger than"},
	}
	r := newRenderer(t, RenderOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Render(wecomText(tc.src), channels.WeCom, tc.vars)
			if tc.err != "" {
				if !errors.Is(err, ErrRender) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an ErrRender containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.Text); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPreviewCollectsEveryChannel(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tmpl := sample()
	vars := sampleVars()
	delete(vars, "webinar") // WeCom, the official account's fields, SMS stays fine, email fails
	got := r.Preview(tmpl, vars)
	type row struct {
		Channel channels.Channel
		OK      bool
		Error   string
	}
	var rows []row
	for _, p := range got {
		if (p.Err == nil) != (p.Rendered != nil) || (p.Err != nil) != (p.Error != "") {
			t.Fatalf("%s: inconsistent result %+v", p.Channel, p)
		}
		rows = append(rows, row{p.Channel, p.Err == nil, p.Error})
	}
	want := []row{
		{channels.WeCom, false, "template cannot be rendered: channels.wecom.text: missing variable .webinar; add \"webinar\" to the vars or write {{default \"...\" .webinar}}"},
		{channels.OfficialAccount, false, "template cannot be rendered: channels.officialaccount.fields.keyword1: missing variable .webinar; add \"webinar\" to the vars or write {{default \"...\" .webinar}}"},
		{channels.SMS, true, ""},
		{channels.Email, false, "template cannot be rendered: channels.email.subject: missing variable .webinar; add \"webinar\" to the vars or write {{default \"...\" .webinar}}"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestCacheFollowsContent(t *testing.T) {
	r := newRenderer(t, RenderOptions{MaxCached: 2})
	tmpl := wecomText("one {{.x}}")
	tmpl.Version = 1
	render := func(tm Template) string {
		out, err := r.Render(tm, channels.WeCom, map[string]any{"x": "!"})
		if err != nil {
			t.Fatal(err)
		}
		return out.Text
	}
	got := []string{render(tmpl), render(tmpl)}
	changed := tmpl
	changed.Channels.WeCom = &WeComBody{Text: "two {{.x}}"} // same id and version, other text
	got = append(got, render(changed))
	for v := 2; v < 6; v++ { // more versions than MaxCached
		tmpl.Version = v
		got = append(got, render(tmpl))
	}
	want := []string{"one !", "one !", "two !", "one !", "one !", "one !", "one !"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	n := 0
	r.cache.Range(func(any, any) bool { n++; return true })
	if n > 2 {
		t.Errorf("cache holds %d entries, MaxCached is 2", n)
	}
}

// TestRenderConcurrent starts with an empty cache, so goroutines race to
// parse the version and to run html/template's first-use escaping.
func TestRenderConcurrent(t *testing.T) {
	tmpl := sample()
	tmpl.Version = 3
	want, err := newRenderer(t, RenderOptions{}).Render(tmpl, channels.Email, sampleVars())
	if err != nil {
		t.Fatal(err)
	}
	r := newRenderer(t, RenderOptions{})
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		go func() {
			for j := 0; j < 50; j++ {
				got, err := r.Render(tmpl, channels.Email, sampleVars())
				if err == nil && !cmp.Equal(want, got) {
					err = errors.New(cmp.Diff(want, got))
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewRendererRefusesBadOptions(t *testing.T) {
	for _, o := range []RenderOptions{{MaxSteps: -1}, {Timeout: -1}, {MaxCached: -1}} {
		if _, err := NewRenderer(o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
