package outreach

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/contacts"
)

// canonical prints a parsed tree fully parenthesised, so tests can compare
// structure (precedence, grouping) as text.
func canonical(n *audNode) string {
	switch n.op {
	case opAnd, opOr:
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = canonical(k)
		}
		sep := " AND "
		if n.op == opOr {
			sep = " OR "
		}
		return "(" + strings.Join(parts, sep) + ")"
	case opNot:
		return "NOT " + canonical(n.kids[0])
	case opTag:
		return "tag:" + n.value
	case opStage:
		return "stage:" + n.value
	case opActivity:
		return "activity:" + n.value
	case opScore:
		return "score" + n.value + strconv.Itoa(n.num)
	}
	return "?"
}

func TestParseAudience(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tag:vip", "tag:vip"},
		{"tag:vip AND (tag:webinar OR tag:trial) AND NOT tag:churned AND stage:mql AND score>=50 AND activity:active",
			"(tag:vip AND (tag:webinar OR tag:trial) AND NOT tag:churned AND stage:mql AND score>=50 AND activity:active)"},
		{"tag:a OR tag:b AND tag:c", "(tag:a OR (tag:b AND tag:c))"},
		{"not tag:a and tag:b or tag:c", "((NOT tag:a AND tag:b) OR tag:c)"},
		{"NOT NOT tag:a", "NOT NOT tag:a"},
		{"((tag:a))", "tag:a"},
		{"tag:会员 AND score<10 AND score!=3 AND score=-1 AND score>0 AND score<=9", "(tag:会员 AND score<10 AND score!=3 AND score=-1 AND score>0 AND score<=9)"},
		{"Tag:x AND SCORE>=5", "(tag:x AND score>=5)"},
	}
	for _, tt := range tests {
		a, err := ParseAudience(tt.in)
		if err != nil {
			t.Errorf("ParseAudience(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, canonical(a.root)); diff != "" {
			t.Errorf("ParseAudience(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseAudienceErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"tag:a AND", "expected a term, NOT or ( at byte 9"},
		{"(tag:a", "expected ) at byte 6 to close the ( at byte 0"},
		{"tag:a)", `unexpected ")" at byte 5`},
		{"tag:a tag:b", `unexpected "tag:b" at byte 6; join terms with AND or OR`},
		{"vip", "is not a term"},
		{"tag:", "no value after the colon"},
		{"stage:lead", "must be prospect, mql, sql or customer"},
		{"activity:asleep", "must be active, silent or churned"},
		{"score>=x", "needs a whole number"},
		{"score>=+5", "needs a whole number"},
		{"score 50", "needs an operator"},
		{"owner:li", `unknown field "owner"`},
		{strings.Repeat("(", 40) + "tag:a" + strings.Repeat(")", 40), "nesting deeper than 32"},
		{strings.TrimSuffix(strings.Repeat("tag:a OR ", 65), " OR "), "more than 64 terms"},
		{strings.Repeat("x", 2001), "at most 2000"},
	}
	for _, tt := range tests {
		_, err := ParseAudience(tt.in)
		if !errors.Is(err, ErrAudience) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAudience(%.40q) = %v, want ErrAudience saying %q", tt.in, err, tt.want)
		}
	}
}

// memSource is an in-memory AudienceSource.
type memSource map[string]*contacts.Contact

func (m memSource) WithTag(_ context.Context, tag string) ([]string, error) {
	var ids []string
	for id, c := range m {
		for _, t := range c.Tags {
			if t == tag {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

func (m memSource) Get(_ context.Context, id string) (*contacts.Contact, error) {
	c, ok := m[id]
	if !ok {
		return nil, contacts.ErrNotFound
	}
	return c, nil
}

func (m memSource) GetMany(ctx context.Context, ids []string) ([]*contacts.Contact, []error) {
	cs, errs := make([]*contacts.Contact, len(ids)), make([]error, len(ids))
	for i, id := range ids {
		cs[i], errs[i] = m.Get(ctx, id)
	}
	return cs, errs
}

func TestResolveAudience(t *testing.T) {
	rdb := newFixture(t).contacts
	ctx := t.Context()
	people := []struct {
		phone    string
		tags     []string
		stage    string
		activity string
		score    int
	}{
		{"+8613800000001", []string{"vip", "webinar"}, "mql", "active", 60},
		{"+8613800000002", []string{"vip", "trial"}, "mql", "active", 50},
		{"+8613800000003", []string{"vip", "trial", "churned"}, "mql", "active", 90},
		{"+8613800000004", []string{"vip", "webinar"}, "sql", "active", 90},
		{"+8613800000005", []string{"vip", "webinar"}, "mql", "silent", 90},
		{"+8613800000006", []string{"vip", "webinar"}, "mql", "active", 49},
		{"+8613800000007", []string{"webinar"}, "mql", "active", 99},
	}
	id := map[string]string{}
	for _, p := range people {
		res, err := rdb.Apply(ctx, contacts.Change{EventID: "seed" + p.phone, Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: p.phone}},
			AddTags: p.tags, Stage: p.stage, Activity: p.activity, ScoreDelta: p.score})
		if err != nil {
			t.Fatal(err)
		}
		id[p.phone[len(p.phone)-1:]] = res.ContactID
	}
	ids := func(ns ...string) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, id[n])
		}
		return sortedCopy(out)
	}
	tests := []struct {
		expr string
		want []string
	}{
		{"tag:vip AND (tag:webinar OR tag:trial) AND NOT tag:churned AND stage:mql AND score>=50 AND activity:active", ids("1", "2")},
		{"tag:webinar", ids("1", "4", "5", "6", "7")},
		{"tag:trial OR tag:churned", ids("2", "3")},
		{"tag:webinar AND NOT tag:vip", ids("7")},
		{"(tag:webinar OR tag:trial) AND NOT (tag:vip AND score<60)", ids("1", "3", "4", "5", "7")},
		{"tag:nobody", ids()},
		{"tag:webinar AND NOT stage:mql", ids("4")},
	}
	for _, tt := range tests {
		a, err := ParseAudience(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Resolve(ctx, rdb)
		if err != nil {
			t.Errorf("%s: %v", tt.expr, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.expr, diff)
		}
	}
	for _, expr := range []string{"NOT tag:vip", "stage:mql", "tag:vip OR score>10", "NOT (tag:vip AND stage:mql)"} {
		if _, err := ParseAudience(expr); !errors.Is(err, ErrAudience) || !strings.Contains(err.Error(), "bound it with a tag term") {
			t.Errorf("%s: err %v, want an unbounded-audience ErrAudience", expr, err)
		}
	}
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func tagSets(m memSource, tags []string) map[string]map[string]struct{} {
	sets := map[string]map[string]struct{}{}
	for _, tag := range tags {
		ids, _ := m.WithTag(context.Background(), tag)
		sets[tag] = map[string]struct{}{}
		for _, id := range ids {
			sets[tag][id] = struct{}{}
		}
	}
	return sets
}

// fuzzPeople is every combination of tags a, b, c with two stages and two
// scores: small enough to test exhaustively, rich enough to tell operators apart.
func fuzzPeople() memSource {
	m := memSource{}
	for mask := range 8 {
		for _, stage := range []string{"mql", "sql"} {
			for _, score := range []int{10, 60} {
				c := &contacts.Contact{ID: fmt.Sprintf("c%d%s%d", mask, stage, score), Stage: stage, Score: score, Activity: "active", Tags: []string{}}
				for i, tag := range []string{"a", "b", "c"} {
					if mask&(1<<i) != 0 {
						c.Tags = append(c.Tags, tag)
					}
				}
				m[c.ID] = c
			}
		}
	}
	return m
}

// FuzzAudience feeds arbitrary text to the parser: it never panics, every
// refusal wraps ErrAudience, an accepted expression prints to a canonical
// form that parses to the same form, and its tag-index candidates hold
// every contact Matches accepts.
func FuzzAudience(f *testing.F) {
	f.Add("tag:vip AND (tag:webinar OR tag:trial) AND NOT tag:churned AND stage:mql AND score>=50 AND activity:active")
	f.Add("tag:a OR tag:b AND NOT tag:c")
	f.Add("NOT (tag:a AND stage:mql)")
	f.Add("(tag:a")
	f.Add("score>=")
	f.Add("tag:a AND score<60 OR tag:c AND NOT tag:b")
	people := fuzzPeople()
	f.Fuzz(func(t *testing.T, expr string) {
		a, err := ParseAudience(expr)
		if err != nil {
			if !errors.Is(err, ErrAudience) {
				t.Fatalf("ParseAudience(%q) error %v does not wrap ErrAudience", expr, err)
			}
			return
		}
		c1 := canonical(a.root)
		b, err := ParseAudience(c1)
		if err != nil && !strings.Contains(err.Error(), "deeper") && !strings.Contains(err.Error(), "bytes") {
			t.Fatalf("canonical form %q of %q does not parse: %v", c1, expr, err)
		}
		if err == nil && canonical(b.root) != c1 {
			t.Fatalf("canonical form %q of %q reparses as %q", c1, expr, canonical(b.root))
		}
		// The candidates (tag algebra only, no goroutines, so coverage
		// stays deterministic) must hold every match, and be exactly the
		// matches when only tag terms are involved.
		cand := a.root.bound(tagSets(people, a.Tags()))
		if cand.neg {
			t.Fatalf("ParseAudience(%q) accepted an unbounded expression", expr)
		}
		for id, c := range people {
			_, in := cand.set[id]
			if m := a.Matches(c); m && !in || cand.exact && in != m {
				t.Fatalf("%q: contact %s matches=%v candidate=%v exact=%v", expr, id, m, in, cand.exact)
			}
		}
	})
}

// TestResolveAudienceInManyBatches: candidates spread over many read
// batches all get their exact test, once.
func TestResolveAudienceInManyBatches(t *testing.T) {
	src := memSource{}
	var want []string
	for i := range 10*resolveBatch + 7 {
		id := fmt.Sprintf("c%05d", i)
		stage := contacts.StageProspect
		if i%3 == 0 {
			stage = contacts.StageMQL
			want = append(want, id)
		}
		src[id] = &contacts.Contact{ID: id, Tags: []string{"expo"}, Stage: stage}
	}
	a, err := ParseAudience("tag:expo AND stage:mql")
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Resolve(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
}
