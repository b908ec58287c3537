package contacts

import (
	"errors"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// walkApplyArgs reads argv the way apply.lua does and returns how many
// items it consumed, so a miscounted group shows up as a mismatch.
func walkApplyArgs(argv []any) (int, error) {
	const fixed = 19
	if len(argv) < fixed {
		return 0, errors.New("fewer fixed arguments than apply.lua reads")
	}
	i := fixed
	for _, width := range []int{1, 2, 1, 1, 4, 1} {
		if i >= len(argv) {
			return 0, errors.New("a group count is missing")
		}
		s, ok := argv[i].(string)
		if !ok {
			return 0, errors.New("a group count is not a string")
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, errors.New("a group count is not a number")
		}
		i += 1 + n*width
	}
	return i, nil
}

func FuzzPrepare(f *testing.F) {
	f.Add("phone", "13800000000", "wx:1", "vip", "city", "上海", "mql", "opted_in", int64(10))
	f.Add("email", " Li@Example.COM ", "", "a b", "", "", "", "", int64(0))
	f.Add("openid", "o\x00", "e\n", " vip", "f", "\xff", "lead", "yes", int64(-5))
	f.Add("qq", "", "", "", "", "", "", "", int64(1<<40))
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled: prepare is pure
	defer rdb.Close()
	s, err := NewStore(rdb, Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind, value, event, tag, field, fieldValue, stage, status string, delta int64) {
		ch := Change{
			EventID:    event,
			Identities: []Identity{{kind, value}, {KindPhone, value}},
			AddTags:    []string{tag},
			Fields:     map[string]string{field: fieldValue},
			Stage:      stage,
			ScoreDelta: int(delta),
			Consent:    []ConsentChange{{"sms", status, tag}},
			Timeline:   &Entry{Type: stage, Text: fieldValue, Props: map[string]string{field: tag}},
		}
		p, err := s.prepare(ch)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("prepare error %v does not wrap ErrInvalid", err)
			}
			if !utf8.ValidString(err.Error()) && utf8.ValidString(value+tag+field+stage+status+event) {
				t.Fatalf("error message is not UTF-8: %q", err)
			}
			return
		}
		for _, i := range p.identities {
			n, err := NormalizeIdentity(i)
			if err != nil || n != i {
				t.Fatalf("stored identity %q is not normalized (%q, %v)", i, n, err)
			}
			if id := IDFor(i); !validID(id) {
				t.Fatalf("IDFor(%q) = %q is not a valid id", i, id)
			}
		}
		got, err := walkApplyArgs(p.argv)
		if err != nil || got != len(p.argv) {
			t.Fatalf("apply.lua would read %d of %d arguments (%v)", got, len(p.argv), err)
		}
	})
}

// FuzzApply sends arbitrary text through the scripts and back: what Apply
// accepts must read back unchanged, and what it refuses must write nothing.
func FuzzApply(f *testing.F) {
	f.Add("13800000000", "wx:1", "vip", "city", "上海", "韩梅梅", "你好")
	f.Add("o-1", "", "a:b{c}", "f:x", "", "", "")
	f.Add("\"}", "{c:x}", "\"]", "consent:sms", "\\u0000", "%s", "{\"at\":\"x\"}")
	f.Add("x", "e", "t", "", "v", "n", "\xff")
	fx := newFixture(f, Options{})
	f.Fuzz(func(t *testing.T, value, event, tag, field, fieldValue, name, text string) {
		if err := fx.rdb.FlushDB(fx.ctx).Err(); err != nil {
			t.Fatal(err)
		}
		i := Identity{KindOpenID, value}
		ch := Change{EventID: event, Identities: []Identity{i}, AddTags: []string{tag}, Name: name,
			Fields: map[string]string{field: fieldValue}, Timeline: &Entry{Type: "message", Text: text}}
		r, err := fx.store.Apply(fx.ctx, ch)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Apply: %v", err)
			}
			if n, _ := fx.rdb.DBSize(fx.ctx).Result(); n != 0 {
				t.Fatalf("a refused change left %d keys", n)
			}
			return
		}
		n, _ := NormalizeIdentity(i)
		want := &Contact{
			ID: IDFor(n), Identities: map[string][]string{KindOpenID: {n.Value}}, Tags: []string{tag},
			Stage: StageProspect, Activity: ActivityActive, Name: name, Consent: consent(), CreatedAt: fx.clock.Now(),
		}
		if fieldValue != "" {
			want.Fields = map[string]string{field: fieldValue}
		}
		if diff := cmp.Diff(want, fx.get(t, r.ContactID)); diff != "" {
			t.Fatalf("Get (-want +got):\n%s", diff)
		}
		wantTL := []Entry{{At: fx.clock.Now(), Type: "message", Text: text}}
		if diff := cmp.Diff(wantTL, fx.timeline(t, r.ContactID)); diff != "" {
			t.Fatalf("Timeline (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{r.ContactID}, fx.withTag(t, tag)); diff != "" {
			t.Fatalf("WithTag (-want +got):\n%s", diff)
		}
		if id, err := fx.store.Lookup(fx.ctx, i); err != nil || id != r.ContactID {
			t.Fatalf("Lookup = %q, %v; want %q", id, err, r.ContactID)
		}
		again, err := fx.store.Apply(fx.ctx, ch)
		if err != nil || again.Duplicate != (event != "") {
			t.Fatalf("second Apply = %+v, %v; want Duplicate=%v", again, err, event != "")
		}
	})
}
