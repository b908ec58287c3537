package dialogs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// problemLines renders Problems as "file:line:col: message" lines.
func problemLines(err error) []string {
	var ps Problems
	if !errors.As(err, &ps) {
		if err == nil {
			return nil
		}
		return []string{"not Problems: " + err.Error()}
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

const okScript = `id: ok
version: 1
triggers:
  - keyword: hello
steps:
  - id: hi
    send: hi
`

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		known []string // templates that exist; nil = no template check
		want  []string
	}{
		{
			name: "missing top keys and unknown key",
			files: map[string]string{"a.yaml": `id: a
verison: 2
`},
			want: []string{
				`a.yaml:1:1: version is missing; a script needs id, version, triggers and steps`,
				`a.yaml:1:1: triggers is missing; a script needs id, version, triggers and steps`,
				`a.yaml:1:1: steps is missing; a script needs id, version, triggers and steps`,
				`a.yaml:2:1: script: unknown key "verison"; expected one of id, version, priority, description, vars, triggers, start, steps`,
			},
		},
		{
			name:  "yaml syntax error has its line",
			files: map[string]string{"bad.yaml": "id: x\nsteps: [\n  - a\n"},
			want:  []string{`bad.yaml:2:1: YAML syntax: did not find expected node content`},
		},
		{
			name: "unknown step ids, duplicates and reserved end",
			files: map[string]string{"s.yaml": `id: s
version: 1
triggers: [{keyword: hello}]
steps:
  - id: a
    send: hi
    next: bb
  - id: b
    send: two
  - id: b
    send: three
  - id: end
    send: four
`},
			want: []string{
				`s.yaml:7:11: step "bb" does not exist in s; did you mean b?`,
				`s.yaml:8:5: step "b" is never reached from the start; point a next: at it or remove it`,
				`s.yaml:10:9: step id "b" is used twice (first at line 8); step ids must be unique`,
				`s.yaml:12:9: step id end is reserved (next: end ends the session); rename the step`,
			},
		},
		{
			name: "loop without a wait",
			files: map[string]string{"l.yaml": `id: l
version: 1
triggers: [{keyword: hello}]
steps:
  - id: a
    send: hi
  - id: b
    do: [{score: +1}]
  - id: c
    branch:
      - {score: "< 100", next: a}
      - {next: end}
`},
			want: []string{
				`l.yaml:5:5: steps loop without an ask or wait (l.a -> l.b -> l.c -> l.a); add a wait or end the loop`,
			},
		},
		{
			name: "loop through an ask is fine, through start is not",
			files: map[string]string{
				"x.yaml": `id: x
version: 1
triggers: [{keyword: hello}]
steps:
  - id: q
    ask: {text: "again?", choices: ["yes"], timeout: 1h, on_timeout: q}
    next: q
  - id: go
    do: [{start: y}]
`,
				"y.yaml": `id: y
version: 1
triggers: [{keyword: world}]
steps:
  - id: a
    do: [{start: x2}]
`,
				"x2.yaml": `id: x2
version: 1
triggers: [{keyword: again}]
steps:
  - id: a
    do: [{start: y}]
`,
			},
			want: []string{
				`x.yaml:8:5: step "go" is never reached from the start; point a next: at it or remove it`,
				`y.yaml:5:5: steps loop without an ask or wait (y.a -> x2.a -> y.a); add a wait or end the loop`,
			},
		},
		{
			name:  "unknown templates, bad regexes, bad durations",
			known: []string{"welcome"},
			files: map[string]string{"t.yaml": `id: t
version: 1
triggers: [{keyword: hello}]
steps:
  - id: a
    send: {template: welcome}
  - id: b
    send: {template: welcom}
  - id: c
    ask:
      text: code?
      patterns:
        - {regex: "([a-z", next: d}
      capture: {var: code, validate: regex, regex: "a{2,1}"}
      timeout: 10s
  - id: d
    wait: {timeout: 3x}
  - id: e
    do:
      - remind: {template: nope, delay: 1d}
`},
			want: []string{
				`t.yaml:8:22: template "welcom" does not exist; create it (PUT /api/v1/templates/welcom) or fix the id`,
				"t.yaml:13:19: regex is not a valid regular expression (RE2 syntax): error parsing regexp: missing closing ]: `[a-z`",
				"t.yaml:14:52: regex is not a valid regular expression (RE2 syntax): error parsing regexp: invalid repeat count: `{2,1}`",
				`t.yaml:15:16: timeout must be from 1m to 366d, got "10s"`,
				`t.yaml:17:21: timeout: "3x" is not a duration; write e.g. 90m, 24h, 3d or 1d12h`,
				`t.yaml:20:28: template "nope" does not exist; create it (PUT /api/v1/templates/nope) or fix the id`,
			},
		},
		{
			name: "duplicate script ids and unknown start target",
			files: map[string]string{
				"one.yaml": okScript,
				"two.yaml": strings.Replace(okScript, "send: hi", "do: [{start: okk}]", 1),
			},
			want: []string{
				`two.yaml:1:5: script id "ok" is also used by one.yaml; each script needs its own id`,
				`two.yaml:7:18: start: script "okk" does not exist in this folder; did you mean ok?`,
			},
		},
		{
			name: "triggers, variables, actions",
			files: map[string]string{"v.yaml": `id: v
version: 1
triggers:
  - keyword: 1
  - keyword: 人工
  - score_band: lukewarm
  - birthday: today
  - activity: silent
    event: x
steps:
  - id: a
    send: "Hi {{.name}} {{ .Name | upper }}"
  - id: b
    do:
      - tag: x
        untag: y
      - end: true
      - score: +0
  - id: c
    branch:
      - {next: end}
      - {tag: vip, next: end}
`},
			want: []string{
				`v.yaml:4:14: keyword "1" is too short to look for inside messages; use exact: true or a longer word`,
				`v.yaml:5:14: keyword "人工" is reserved for hand-off and unsubscribe`,
				`v.yaml:6:17: score_band "lukewarm" is unknown; use hot, warm or cold`,
				`v.yaml:7:5: trigger: unknown key "birthday"; expected one of activity, contact_added, event, keyword, score_band, subscribe, tag_added`,
				`v.yaml:8:5: each trigger is one key (activity, contact_added, event, keyword, score_band, subscribe, tag_added); put each on its own - line`,
				`v.yaml:12:11: send: placeholders look like {{.name}} (letters, digits, _); other template syntax belongs in a template`,
				`v.yaml:15:9: each action is one key (tag, untag, score, stage, coupon, remind, handoff, start, end, set); put each on its own - line`,
				`v.yaml:18:9: nothing after end runs; move this action before it`,
				`v.yaml:18:16: score +0 does nothing; remove it or give a change such as +10 or -5`,
				`v.yaml:19:5: step "c" is never reached from the start; point a next: at it or remove it`,
				`v.yaml:21:9: a case without a test always matches, so the cases after it never run; move it last`,
			},
		},
		{
			name: "undeclared variable and ask without matcher",
			files: map[string]string{"u.yaml": `id: u
version: 1
triggers: [{event: whitepaper_download}]
steps:
  - id: a
    ask:
      text: "Hello {{.nmae}}"
  - id: b
    send: "{{.company}}"
  - id: c
    ask:
      text: company?
      capture: {var: company, validate: phone_number}
`},
			want: []string{
				`u.yaml:7:7: ask needs something to match the reply: choices, keywords, patterns or capture`,
				`u.yaml:7:13: variable "nmae" is never set in this script; give it a default under vars: or capture it in an ask`,
				`u.yaml:8:5: step "b" is never reached from the start; point a next: at it or remove it`,
				`u.yaml:10:5: step "c" is never reached from the start; point a next: at it or remove it`,
				`u.yaml:13:41: validate "phone_number" is unknown; use non_empty, phone, email or regex`,
			},
		},
		{
			name: "reminder time must be RFC 3339, also as a default",
			files: map[string]string{"r.yaml": `id: r
version: 1
vars: {starts_at: next tuesday}
triggers: [{keyword: hello}]
steps:
  - id: a
    do:
      - remind: {text: soon, at: "{{.starts_at}}", before: 1h}
      - remind: {text: soon, at: "2026-13-01"}
      - remind: {text: soon, before: 1h}
`},
			want: []string{
				`r.yaml:8:34: the default of starts_at is "next tuesday", not an RFC 3339 time such as 2026-12-10T19:00:00+08:00`,
				`r.yaml:9:34: at is "2026-13-01", not an RFC 3339 time such as 2026-12-10T19:00:00+08:00`,
				`r.yaml:10:30: before needs at: <time>, e.g. at: "{{.starts_at}}"`,
			},
		},
		{
			name: "wrong value types",
			files: map[string]string{"w.yaml": `id: [w]
version: abc
priority: {a: 1}
triggers: {keyword: x}
steps:
  - id: a
    do:
      - end: maybe
      - tag: ~
  - {id: b, send: {text: hi, template: t}}
  - {id: c, send: hi, next: "bad id"}
  - {id: d, ask: {choices: ["1. yes", "yes", " Yes "]}}
`},
			want: []string{
				`w.yaml:1:5: id must be a text value, got a list`,
				`w.yaml:2:10: version must be a whole number from 1 to 1073741824, got "abc"`,
				`w.yaml:3:11: priority must be a whole number, got a mapping`,
				`w.yaml:4:11: triggers must be a list with at least one trigger, e.g. - keyword: 研讨会`,
				`w.yaml:8:14: end must be true or false, got "maybe"`,
				`w.yaml:9:14: tag must be a text value, got nothing`,
				`w.yaml:10:19: send has both text and template; use one`,
				`w.yaml:11:29: next must name a step id or end, got "bad id"`,
				`w.yaml:12:29: label "1. yes" starts with a number; the number is added for you`,
				`w.yaml:12:46: label " Yes " is offered twice`,
			},
		},
		{
			name:  "anchors are refused",
			files: map[string]string{"a.yaml": "id: a\nversion: 1\ntriggers: &t [{keyword: hello}]\nsteps: *t\n"},
			want:  []string{`a.yaml:1:1: anchors and aliases (&name, *name) are not supported in scripts; write each value out`},
		},
		{
			name:  "two documents",
			files: map[string]string{"a.yaml": okScript + "---\n" + okScript},
			want:  []string{`a.yaml:8:1: a file holds one script; move the document after --- into its own file`},
		},
		{
			name:  "non-yaml files are ignored",
			files: map[string]string{"README.md": "# scripts", "ok.yaml": okScript},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, body := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(body)}
			}
			var opts LoadOptions
			if tt.known != nil {
				opts.TemplateExists = func(id string) bool { return contains(tt.known, id) }
			}
			lib, err := LoadFS(fsys, opts)
			if diff := cmp.Diff(tt.want, problemLines(err)); diff != "" {
				t.Errorf("problems (-want +got)\n%s", diff)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidScript) {
					t.Errorf("errors.Is(err, ErrInvalidScript) = false for %v", err)
				}
				if lib != nil {
					t.Error("a Library came back with problems")
				}
			}
		})
	}
}

// TestLoadShipped checks the shipped scripts against the template ids they
// are documented to need, and Load's file names.
func TestLoadShipped(t *testing.T) {
	templates := []string{"welcome", "webinar_reminder", "webinar_reminder_1h", "winback_coupon", "winback_followup"}
	lib, err := Load(filepath.Join("..", "configs", "dialogs"), LoadOptions{TemplateExists: func(id string) bool { return contains(templates, id) }})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range lib.Scripts() {
		got = append(got, s.Key())
	}
	if diff := cmp.Diff([]string{"webinar_signup@1", "welcome_survey@1", "winback@1"}, got); diff != "" {
		t.Errorf("scripts (-want +got)\n%s", diff)
	}
	_, err = Load(filepath.Join("..", "configs", "dialogs"), LoadOptions{TemplateExists: func(string) bool { return false }})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 5 {
		t.Fatalf("with no templates: want 5 problems, got %v", err)
	}
	if !strings.HasPrefix(ps[0].File, filepath.Join("..", "configs", "dialogs")+"/") {
		t.Errorf("problem file %q does not carry the folder", ps[0].File)
	}
}

func TestLoadMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Load(dir, LoadOptions{})
	if diff := cmp.Diff([]string{dir + ": dialog folder does not exist or is not a folder; set dialogs.dir in the config"}, problemLines(err)); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	empty := t.TempDir()
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	lib, err := Load(empty, LoadOptions{})
	if err != nil || len(lib.Scripts()) != 0 {
		t.Errorf("empty folder: %v, %v", lib, err)
	}
}

func TestProblemsError(t *testing.T) {
	err := error(Problems{
		{File: "a.yaml", Line: 3, Column: 5, Message: "step \"x\" does not exist"},
		{File: "b.yaml", Message: "cannot read"},
	})
	want := "invalid dialog script: 2 problems\n  a.yaml:3:5: step \"x\" does not exist\n  b.yaml: cannot read"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if !errors.Is(fmt.Errorf("check: %w", err), ErrInvalidScript) {
		t.Error("wrapped Problems do not match ErrInvalidScript")
	}
	one := Problems{{File: "a.yaml", Line: 1, Column: 1, Message: "m"}}
	if got := one.Error(); got != "invalid dialog script: 1 problem\n  a.yaml:1:1: m" {
		t.Errorf("one problem: %q", got)
	}
}
