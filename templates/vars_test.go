package templates

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func greeting() Template {
	return Template{ID: "greet", Name: "Greeting", Purpose: channels.Service, Version: 1,
		Vars:     []Var{{Name: "name", Sample: "王先生", Default: "客户"}, {Name: "city", Sample: "上海"}},
		Channels: Channels{WeCom: &WeComBody{Text: "{{.name}}，欢迎来到{{.city}}"}}}
}

func TestDefaultsFillMissingVars(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tests := []struct {
		name string
		data map[string]any
		want string
	}{
		{"given", map[string]any{"name": "李雷", "city": "北京"}, "李雷，欢迎来到北京"},
		{"missing", map[string]any{"city": "北京"}, "客户，欢迎来到北京"},
		{"null", map[string]any{"name": nil, "city": "北京"}, "客户，欢迎来到北京"},
		{"empty, as a contact without a name has", map[string]any{"name": "", "city": "北京"}, "客户，欢迎来到北京"},
		{"zero is a value", map[string]any{"name": 0, "city": "北京"}, "0，欢迎来到北京"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.data)
			out, err := r.Render(greeting(), channels.WeCom, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.Text); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			if len(tt.data) != before {
				t.Errorf("the caller's data was changed: %v", tt.data)
			}
		})
	}
	// A variable without a default is still required at send time.
	if _, err := r.Render(greeting(), channels.WeCom, map[string]any{"name": "李雷"}); err == nil {
		t.Error("a missing variable without a default rendered")
	}
}

func TestPreviewUsesSamples(t *testing.T) {
	r := newRenderer(t, RenderOptions{})
	tests := []struct {
		name string
		data map[string]any
		want string
	}{
		{"samples only", nil, "王先生，欢迎来到上海"},
		{"data over samples", map[string]any{"city": "深圳"}, "王先生，欢迎来到深圳"},
		{"a contact without a name keeps the sample", map[string]any{"name": ""}, "王先生，欢迎来到上海"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := r.Preview(greeting(), tt.data)
			if res[0].Rendered == nil {
				t.Fatalf("preview failed: %s", res[0].Error)
			}
			if diff := cmp.Diff(tt.want, res[0].Rendered.Text); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestValidateVars(t *testing.T) {
	base := greeting()
	tests := []struct {
		name string
		vars []Var
		want []Problem
	}{
		{"fine", base.Vars, nil},
		{"bad name", []Var{{Name: "1st"}}, []Problem{{"vars[0].name", `"1st" must be a letter or _ followed by letters, digits or _, as in {{.name}}`}}},
		{"twice", []Var{{Name: "a"}, {Name: "a"}}, []Problem{{"vars[1].name", `"a" is declared twice`}}},
		{"too deep", []Var{{Name: "a", Sample: nest(20)}}, []Problem{{"vars.a.sample", "nested deeper than 16 levels"}}},
		{"too big", []Var{{Name: "a", Default: string(make([]byte, 17<<10))}}, []Problem{{"vars.a.default", "is over 16384 bytes"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := base
			tmpl.Vars = tt.vars
			var got []Problem
			if err := Validate(tmpl); err != nil {
				got = err.(*InvalidError).Problems
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func nest(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}
