package contacts

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// idByFormula is the documented derivation, written out independently.
func idByFormula(kind, value string) string {
	sum := sha256.Sum256([]byte(kind + ":" + value))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10]))
}

func TestIDFor(t *testing.T) {
	tests := []struct {
		name string
		in   Identity
		want string
	}{
		{"phone", phone("13800000000"), idByFormula("phone", "13800000000")},
		{"openid", openid("oAbC-123"), idByFormula("openid", "oAbC-123")},
		{"openid keeps case", openid("OABC-123"), idByFormula("openid", "OABC-123")},
		{"email is lowercased", email("Li.Lei@Example.COM"), idByFormula("email", "li.lei@example.com")},
		{"spaces are trimmed", phone(" 13800000000\t"), idByFormula("phone", "13800000000")},
		{"unionid", Identity{KindUnionID, "u1"}, idByFormula("unionid", "u1")},
		{"external_userid", Identity{KindExternalUserID, "wmAbc"}, idByFormula("external_userid", "wmAbc")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IDFor(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("IDFor(%v) (-want +got):\n%s", tt.in, diff)
			}
			if len(got) != idLen || !validID(got) {
				t.Errorf("IDFor(%v) = %q; want %d lowercase base32 characters", tt.in, got, idLen)
			}
		})
	}
}

func TestNormalizeIdentity(t *testing.T) {
	tests := []struct {
		name    string
		in      Identity
		want    Identity
		invalid bool
	}{
		{"email", email(" A@B.cn "), email("a@b.cn"), false},
		{"kind case", Identity{"Phone", "1"}, phone("1"), false},
		{"unknown kind", Identity{"qq", "1"}, Identity{}, true},
		{"empty value", phone("  "), Identity{}, true},
		{"too long", phone(strings.Repeat("1", maxIdentityLen+1)), Identity{}, true},
		{"control character", openid("a\x00b"), Identity{}, true},
		{"bad UTF-8", openid("a\xffb"), Identity{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeIdentity(tt.in)
			if tt.invalid {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("NormalizeIdentity(%q) error = %v; want ErrInvalid", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NormalizeIdentity(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewStoreOptions(t *testing.T) {
	f := newFixture(t, Options{})
	tests := []struct {
		name  string
		opt   Options
		names string // what the error must name; "" = no error
	}{
		{"defaults", Options{}, ""},
		{"negative timeline", Options{TimelineMax: -1}, "TimelineMax"},
		{"negative ttl", Options{DedupTTL: -1}, "DedupTTL"},
		{"sub-millisecond ttl", Options{DedupTTL: 1}, "DedupTTL"},
		{"negative score log", Options{ScoreLogMax: -1}, "ScoreLogMax"},
		{"negative index interval", Options{IndexEvery: -time.Second}, "IndexEvery"},
		{"negative index flush", Options{IndexFlush: -time.Second}, "IndexFlush"},
		{"empty channel", Options{Channels: []string{"sms", ""}}, "channel"},
		{"repeated channel", Options{Channels: []string{"sms", "sms"}}, "channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewStore(f.rdb, tt.opt)
			if tt.names == "" && err != nil || tt.names != "" && (err == nil || !strings.Contains(err.Error(), tt.names)) {
				t.Errorf("NewStore(%+v) error = %v; want one naming %q", tt.opt, err, tt.names)
			}
		})
	}
	s, err := NewStore(f.rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{TimelineMax: DefaultTimelineMax, DedupTTL: DefaultDedupTTL, ScoreLogMax: DefaultScoreLogMax, IndexEvery: DefaultIndexEvery, IndexFlush: DefaultIndexFlush}
	got := Options{TimelineMax: s.opt.TimelineMax, DedupTTL: s.opt.DedupTTL, ScoreLogMax: s.opt.ScoreLogMax, IndexEvery: s.opt.IndexEvery, IndexFlush: s.opt.IndexFlush}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if _, err := NewStore(nil, Options{}); err == nil {
		t.Error("NewStore(nil) succeeded; want an error")
	}
}
