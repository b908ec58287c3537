package dialogs

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

var update = flag.Bool("update", false, "rewrite the -- want -- sections of testdata/*.txtar")

// archive is a txtar-like file: a comment, then "-- name --" sections.
type archive struct {
	comment  string
	sections []section
}

type section struct {
	name string
	body string
}

func parseArchive(data string) archive {
	var a archive
	cur := -1
	var b strings.Builder
	flush := func() {
		if cur < 0 {
			a.comment = b.String()
		} else {
			a.sections[cur].body = b.String()
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(data, "\n") {
		trim := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) > 6 {
			flush()
			a.sections = append(a.sections, section{name: strings.TrimSpace(trim[3 : len(trim)-3])})
			cur = len(a.sections) - 1
			continue
		}
		b.WriteString(line)
	}
	flush()
	return a
}

func (a archive) format() string {
	var b strings.Builder
	b.WriteString(a.comment)
	for _, s := range a.sections {
		fmt.Fprintf(&b, "-- %s --\n%s", s.name, s.body)
	}
	return b.String()
}

func (a archive) get(name string) (string, bool) {
	for _, s := range a.sections {
		if s.name == name {
			return s.body, true
		}
	}
	return "", false
}

// TestTranscripts runs every testdata/*.txtar conversation against a real
// Redis and compares what happened with its want section.
//
// Sections: "<file>.yaml" scripts, "shipped" names files of
// configs/dialogs to load too, "inbound" the conversation, "want" the
// expected transcript (go test -run TestTranscripts -update rewrites it).
//
// Inbound lines:
//
//	> text             the contact writes text
//	! type k=v ...     an event (contact_added, subscribe, activity_changed, ...)
//	tag NAME           a tag_added event for NAME (the model gets the tag)
//	score +N           a score change event of N
//	@ +DURATION        the clock moves on and Tick runs
//	resume             Engine.Resume
//	contact ID         later lines are for contact ID (default c1)
//	channel NAME       later inbounds arrive on channel NAME (default wecom)
//	fail ACTION        the next call of ACTION (tag, send, coupon, ...) fails
//	reload             load the library again from the file's sections
//	# ...              a comment, copied to the transcript
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts found in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			a := parseArchive(string(data))
			got := runTranscript(t, a)
			if *update {
				replaced := false
				for i := range a.sections {
					if a.sections[i].name == "want" {
						a.sections[i].body, replaced = got, true
					}
				}
				if !replaced {
					a.sections = append(a.sections, section{name: "want", body: got})
				}
				if err := os.WriteFile(file, []byte(a.format()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, ok := a.get("want")
			if !ok {
				t.Fatalf("%s has no -- want -- section; run with -update", file)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got)\n%s", file, diff)
			}
		})
	}
}

func transcriptLibrary(t *testing.T, a archive) *Library {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, s := range a.sections {
		if strings.HasSuffix(s.name, ".yaml") {
			fsys[s.name] = &fstest.MapFile{Data: []byte(s.body)}
		}
	}
	if list, ok := a.get("shipped"); ok {
		for _, name := range strings.Fields(list) {
			data, err := os.ReadFile(filepath.Join("..", "configs", "dialogs", name))
			if err != nil {
				t.Fatal(err)
			}
			fsys[name] = &fstest.MapFile{Data: data}
		}
	}
	lib, err := LoadFS(fsys, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func runTranscript(t *testing.T, a archive) string {
	lib := transcriptLibrary(t, a)
	f := newFixture(t, lib, Options{})
	ctx := context.Background()
	script, ok := a.get("inbound")
	if !ok {
		t.Fatal("no -- inbound -- section")
	}
	var b bytes.Buffer
	contact, ch := "c1", channels.WeCom
	for _, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		b.WriteString(line + "\n")
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		var out *Outcome
		var err error
		handle := func(in Inbound) {
			in.Channel = ch
			o, e := f.eng.Handle(ctx, in)
			out, err = &o, e
		}
		switch cmd {
		case ">":
			in := f.act.inbound(contact)
			in.Text, in.EventType = arg, channels.TypeMessage
			handle(in)
		case "!":
			fields := strings.Fields(arg)
			in := f.act.inbound(contact)
			in.EventType = fields[0]
			in.Props = map[string]string{}
			for _, kv := range fields[1:] {
				k, v, _ := strings.Cut(kv, "=")
				in.Props[k] = v
			}
			handle(in)
		case "tag":
			_ = f.act.Tag(ctx, Target{ContactID: contact}, arg)
			f.act.take()
			in := f.act.inbound(contact)
			in.EventType, in.TagsAdded = "tag_added", []string{arg}
			handle(in)
		case "score":
			n, convErr := strconv.Atoi(strings.TrimPrefix(arg, "+"))
			if convErr != nil {
				t.Fatalf("bad line %q", line)
			}
			f.act.mu.Lock()
			f.act.score[contact] += n
			f.act.mu.Unlock()
			in := f.act.inbound(contact)
			in.EventType, in.ScoreDelta = "score_changed", n
			handle(in)
		case "@":
			d, convErr := parseDuration(strings.TrimPrefix(arg, "+"))
			if convErr != nil {
				t.Fatalf("bad line %q: %v", line, convErr)
			}
			now := f.clk.Advance(d)
			n, e := f.eng.Tick(ctx, now)
			fmt.Fprintf(&b, "  tick %s: %d moved\n", now.Format("01-02 15:04"), n)
			err = e
		case "resume":
			was, e := f.eng.Resume(ctx, contact)
			fmt.Fprintf(&b, "  resumed: %v\n", was)
			err = e
		case "contact":
			contact = arg
			continue
		case "channel":
			ch = channels.Channel(arg)
			continue
		case "fail":
			f.act.fail(arg)
			continue
		case "reload":
			if err := f.eng.SetLibrary(transcriptLibrary(t, a)); err != nil {
				fmt.Fprintf(&b, "  reload: %v\n", err)
			}
			continue
		default:
			t.Fatalf("unknown inbound line %q", line)
		}
		for _, l := range f.act.take() {
			b.WriteString("  " + l + "\n")
		}
		if out != nil {
			for _, r := range out.Replies {
				b.WriteString("  reply " + replyText(r) + "\n")
			}
			var flags []string
			if out.Started != "" {
				flags = append(flags, "started "+out.Started)
			}
			if out.Ended {
				flags = append(flags, "ended")
			}
			if out.HandedOff {
				flags = append(flags, "handed off")
			}
			if len(flags) > 0 {
				b.WriteString("  " + strings.Join(flags, ", ") + "\n")
			}
		}
		if err != nil {
			fmt.Fprintf(&b, "  error: %v\n", err)
		}
		b.WriteString("  " + stateLine(t, f, contact) + "\n")
	}
	return b.String()
}

func stateLine(t *testing.T, f *fixture, contact string) string {
	st, err := f.eng.State(context.Background(), contact)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	if st.Script == "" {
		parts = append(parts, "state: no session")
	} else {
		parts = append(parts, fmt.Sprintf("state: %s@%d at %s, times out in %s", st.Script, st.Version, st.Step, roughDuration(st.Deadline.Sub(f.clk.Now()))))
		if st.Reprompts > 0 {
			parts = append(parts, fmt.Sprintf("reprompts %d", st.Reprompts))
		}
		if len(st.Vars) > 0 {
			keys := make([]string, 0, len(st.Vars))
			for k := range st.Vars {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var kv []string
			for _, k := range keys {
				kv = append(kv, k+"="+st.Vars[k])
			}
			parts = append(parts, "vars "+strings.Join(kv, " "))
		}
	}
	if st.HandedOff {
		parts = append(parts, "handed off")
	}
	return strings.Join(parts, ", ")
}

func roughDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}
