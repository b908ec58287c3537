package dialogs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// FuzzLoad feeds arbitrary bytes to the script loader next to a valid
// script: it must never panic, must answer with a Library or a non-empty
// Problems list placed in the file, and a Library it accepts must have
// every transition inside the script.
func FuzzLoad(f *testing.F) {
	shipped, _ := filepath.Glob(filepath.Join("..", "configs", "dialogs", "*.yaml"))
	for _, p := range shipped {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(okScript))
	f.Add([]byte(counterScript))
	f.Add([]byte("id: x\nversion: 1\ntriggers: [{keyword: hi}]\nsteps:\n  - {id: a, do: [{start: other}]}\n"))
	f.Add([]byte("id: x\nversion: 1\ntriggers: [{keyword: hi}]\nsteps:\n  - {id: a, send: hi, next: a}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"f.yaml":     &fstest.MapFile{Data: data},
			"other.yaml": &fstest.MapFile{Data: []byte(strings.Replace(okScript, "id: ok", "id: other", 1))},
		}
		lib, err := LoadFS(fsys, LoadOptions{TemplateExists: func(id string) bool { return id != "missing" }})
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not a non-empty Problems: %v", err)
			}
			for _, p := range ps {
				if p.File != "f.yaml" && p.File != "other.yaml" || p.Line < 0 || p.Message == "" {
					t.Fatalf("problem without a place or text: %+v", p)
				}
			}
			if lib != nil {
				t.Fatal("Library returned with problems")
			}
			return
		}
		for _, s := range lib.Scripts() {
			checkTargets(t, s)
		}
	})
}

func checkTargets(t *testing.T, s *Script) {
	t.Helper()
	in := func(tg target) {
		if tg != toEnd && (tg < 0 || int(tg) >= len(s.steps)) {
			t.Fatalf("%s: target %d outside %d steps", s.Key(), tg, len(s.steps))
		}
	}
	if len(s.steps) == 0 {
		t.Fatalf("%s loaded without steps", s.Key())
	}
	in(s.start)
	for i := range s.steps {
		st := &s.steps[i]
		in(st.next)
		next, _ := st.successors()
		for _, tg := range next {
			in(tg)
		}
		if st.kind == kindAsk {
			in(st.ask.onTimeout)
			in(st.ask.fallback)
		}
		if st.kind == kindWait && st.wait.timeout <= 0 {
			t.Fatalf("%s step %s waits without a timeout", s.Key(), st.id)
		}
	}
}

// FuzzReply feeds arbitrary customer text to the reply matching: it must
// never panic, normalizing twice changes nothing, and what a capture keeps
// satisfies its validation.
func FuzzReply(f *testing.F) {
	for _, s := range []string{"1", "２。", "选3", "1、了解产品", " 人工 ", "ＴＤ", "138 0013 8000", "+86 13800138000",
		"Name@Example.COM", "a@b", "\xff\xfe", "🙂", "12345678901234567890", "。。。", "demo please"} {
		f.Add(s)
	}
	caps := []*capture{
		{validate: validateNonEmpty},
		{validate: validatePhone},
		{validate: validateEmail},
	}
	f.Fuzz(func(t *testing.T, text string) {
		n := normalize(text)
		if again := normalize(n); again != n {
			t.Fatalf("normalize not idempotent: %q -> %q -> %q", text, n, again)
		}
		if !utf8.ValidString(n) {
			t.Fatalf("normalize(%q) = %q is not UTF-8", text, n)
		}
		if v, ok := choiceNumber(n); ok && (v < 0 || v > 999) {
			t.Fatalf("choiceNumber(%q) = %d", n, v)
		}
		_ = global(n)
		for _, c := range caps {
			v, ok := c.check(strings.TrimSpace(text), n)
			if !ok {
				continue
			}
			switch c.validate {
			case validatePhone:
				if !phoneRe.MatchString(v) {
					t.Fatalf("phone capture kept %q from %q", v, text)
				}
			case validateEmail:
				if strings.Count(v, "@") != 1 || strings.ContainsAny(v, " \t\r\n") {
					t.Fatalf("email capture kept %q from %q", v, text)
				}
			case validateNonEmpty:
				if n == "" {
					t.Fatalf("non_empty capture kept %q", v)
				}
			}
		}
		if got := truncateRunes(text, 5); len(got) > len(text) || utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("truncateRunes(%q, 5) = %q", text, got)
		}
	})
}
