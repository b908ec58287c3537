package outreach

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/journeygate/gateway/internal/redistest"
)

var couponStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type couponFixture struct {
	c     *Coupons
	clock *testclock.Clock
	rdb   *redis.Client
	ctx   context.Context
}

func newCouponFixture(t *testing.T) *couponFixture {
	t.Helper()
	rdb := redistest.Client(t)
	clk := testclock.New(couponStart)
	return &couponFixture{c: NewCoupons(rdb, clk.Now), clock: clk, rdb: rdb, ctx: redistest.Ctx(t)}
}

// batch creates a batch expiring in 30 days and imports codes into it.
func (f *couponFixture) batch(t *testing.T, id string, codes ...string) CouponBatch {
	t.Helper()
	b, err := f.c.CreateBatch(f.ctx, CouponBatch{ID: id, Name: "Double 11 " + id, ExpiresAt: couponStart.Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) > 0 {
		if _, err := f.c.AddCodes(f.ctx, id, codes); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (f *couponFixture) dbsize(t *testing.T) int64 {
	t.Helper()
	n, err := f.rdb.DBSize(f.ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func numberedCodes(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func TestCreateBatch(t *testing.T) {
	f := newCouponFixture(t)
	expires := time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("CST", 8*3600))
	got, err := f.c.CreateBatch(f.ctx, CouponBatch{ID: "d11-2026", Name: " 双11\u3000满减券 ", ValueCents: 2000, ExpiresAt: expires, Total: 99})
	if err != nil {
		t.Fatal(err)
	}
	want := CouponBatch{ID: "d11-2026", Name: "双11\u3000满减券", ValueCents: 2000, ExpiresAt: expires.UTC(), Created: couponStart}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created batch (-want +got):\n%s", diff)
	}
	read, err := f.c.Batch(f.ctx, "d11-2026")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, read); diff != "" {
		t.Errorf("stored batch (-want +got):\n%s", diff)
	}

	future := couponStart.Add(time.Hour)
	tests := []struct {
		name  string
		batch CouponBatch
		want  error
	}{
		{"taken id", CouponBatch{ID: "d11-2026", Name: "x", ExpiresAt: future}, ErrCouponBatchExists},
		{"empty id", CouponBatch{Name: "x", ExpiresAt: future}, ErrCouponInvalid},
		{"upper-case id", CouponBatch{ID: "D11", Name: "x", ExpiresAt: future}, ErrCouponInvalid},
		{"id with a brace", CouponBatch{ID: "a}b", Name: "x", ExpiresAt: future}, ErrCouponInvalid},
		{"id too long", CouponBatch{ID: strings.Repeat("a", 65), Name: "x", ExpiresAt: future}, ErrCouponInvalid},
		{"no name", CouponBatch{ID: "a", Name: "  ", ExpiresAt: future}, ErrCouponInvalid},
		{"control character in name", CouponBatch{ID: "a", Name: "a\x00b", ExpiresAt: future}, ErrCouponInvalid},
		{"negative value", CouponBatch{ID: "a", Name: "x", ValueCents: -1, ExpiresAt: future}, ErrCouponInvalid},
		{"no expiry", CouponBatch{ID: "a", Name: "x"}, ErrCouponInvalid},
		{"expiry now", CouponBatch{ID: "a", Name: "x", ExpiresAt: couponStart}, ErrCouponInvalid},
		{"expiry in 11 years", CouponBatch{ID: "a", Name: "x", ExpiresAt: couponStart.AddDate(11, 0, 0)}, ErrCouponInvalid},
	}
	before := f.dbsize(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.c.CreateBatch(f.ctx, tt.batch); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if after := f.dbsize(t); after != before {
		t.Errorf("refused batches changed the key count from %d to %d", before, after)
	}
	if _, err := f.c.Batch(f.ctx, "nope"); !errors.Is(err, ErrCouponBatchNotFound) {
		t.Errorf("Batch(nope) err = %v, want ErrCouponBatchNotFound", err)
	}
}

func TestAddCodesSkipsDuplicates(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "a")
	f.batch(t, "b")
	tests := []struct {
		name  string
		batch string
		codes []string
		want  int
	}{
		{"new codes, repeats and case variants", "a", []string{"SAVE-0001", "save-0001", " SAVE-0002\r", "SAVE-0001", "Save-0003"}, 3},
		{"the same list again", "a", []string{"SAVE-0001", "SAVE-0002", "SAVE-0003"}, 0},
		{"codes another batch holds", "b", []string{"save-0002", "SAVE-0004"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.c.AddCodes(f.ctx, tt.batch, tt.codes)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("added %d, want %d", got, tt.want)
			}
		})
	}
	for id, total := range map[string]int{"a": 3, "b": 1} {
		b, err := f.c.Batch(f.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if b.Total != total {
			t.Errorf("batch %s total = %d, want %d", id, b.Total, total)
		}
	}
}

func TestAddCodesRefusesBadInputAndWritesNothing(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "a", "KEEP-0001")
	too := make([]string, MaxCouponCodes+1)
	tests := []struct {
		name  string
		batch string
		codes []string
		want  error
	}{
		{"empty list", "a", nil, ErrCouponInvalid},
		{"too many codes", "a", too, ErrCouponInvalid},
		{"too short", "a", []string{"GOOD-0001", "ABC"}, ErrCouponInvalid},
		{"too long", "a", []string{strings.Repeat("A", 33)}, ErrCouponInvalid},
		{"underscore", "a", []string{"GOOD_0001"}, ErrCouponInvalid},
		{"inner space", "a", []string{"GOOD 0001"}, ErrCouponInvalid},
		{"full-width digit", "a", []string{"GOOD-０００1"}, ErrCouponInvalid},
		{"bad batch id", "A!", []string{"GOOD-0001"}, ErrCouponInvalid},
		{"unknown batch", "nope", []string{"GOOD-0001"}, ErrCouponBatchNotFound},
	}
	before := f.dbsize(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := f.c.AddCodes(f.ctx, tt.batch, tt.codes)
			if !errors.Is(err, tt.want) || n != 0 {
				t.Errorf("AddCodes = %d, %v; want 0, %v", n, err, tt.want)
			}
		})
	}
	if after := f.dbsize(t); after != before {
		t.Errorf("refused imports changed the key count from %d to %d", before, after)
	}
	if n, err := f.rdb.Exists(f.ctx, couponCodeKey("GOOD-0001")).Result(); err != nil || n != 0 {
		t.Errorf("a refused list claimed a code: %d %v", n, err)
	}
}

func TestGenerate(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "gen")
	n, err := f.c.Generate(f.ctx, "gen", 2500, "d11-")
	if err != nil || n != 2500 {
		t.Fatalf("Generate = %d, %v; want 2500", n, err)
	}
	codes, err := f.rdb.HKeys(f.ctx, couponCodesKey("gen")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 2500 {
		t.Fatalf("batch holds %d codes, want 2500", len(codes))
	}
	for _, c := range codes {
		rest, ok := strings.CutPrefix(c, "D11-")
		if !ok || len(rest) != couponRandomLen || strings.Trim(rest, couponAlphabet) != "" {
			t.Fatalf("code %q is not D11- and %d characters of %s", c, couponRandomLen, couponAlphabet)
		}
		if owner, _ := f.rdb.Get(f.ctx, couponCodeKey(c)).Result(); owner != "gen" {
			t.Fatalf("index says code %s belongs to %q", c, owner)
		}
	}
	for _, tt := range []struct {
		name   string
		n      int
		prefix string
	}{{"zero", 0, ""}, {"too many", MaxCouponCodes + 1, ""}, {"long prefix", 1, strings.Repeat("P", 17)}, {"bad prefix", 1, "P_"}, {"non-ASCII prefix", 1, "券"}} {
		if _, err := f.c.Generate(f.ctx, "gen", tt.n, tt.prefix); !errors.Is(err, ErrCouponInvalid) {
			t.Errorf("%s: err = %v, want ErrCouponInvalid", tt.name, err)
		}
	}
}

func TestInterruptedImportIsCompletedByRunningItAgain(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "a", "CODE-0001")
	if _, _, err := f.c.Issue(f.ctx, "a", "contact1"); err != nil {
		t.Fatal(err)
	}
	// The claim step ran for CODE-0002 and the process died before the pool script.
	if err := f.rdb.Set(f.ctx, couponCodeKey("CODE-0002"), "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	n, err := f.c.AddCodes(f.ctx, "a", []string{"CODE-0001", "CODE-0002"})
	if err != nil || n != 1 {
		t.Fatalf("AddCodes = %d, %v; want 1 (the issued code must not return to the pool)", n, err)
	}
	avail, err := f.rdb.SMembers(f.ctx, couponAvailKey("a")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CODE-0002"}, avail); diff != "" {
		t.Errorf("available codes (-want +got):\n%s", diff)
	}
}

func TestIssueHandsOutEachCodeOnceUnderConcurrency(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "fifty", numberedCodes("F-", 50)...)
	type result struct {
		contact, code string
		err           error
	}
	results := make(chan result, 64)
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			contact := fmt.Sprintf("contact%02d", i)
			code, _, err := f.c.Issue(f.ctx, "fifty", contact)
			results <- result{contact, code, err}
		})
	}
	wg.Wait()
	close(results)
	codes := map[string]string{}
	exhausted := 0
	for r := range results {
		switch {
		case errors.Is(r.err, ErrCouponsExhausted):
			exhausted++
		case r.err != nil:
			t.Fatalf("Issue for %s: %v", r.contact, r.err)
		default:
			if other, dup := codes[r.code]; dup {
				t.Errorf("code %s went to %s and %s", r.code, other, r.contact)
			}
			codes[r.code] = r.contact
		}
	}
	if len(codes) != 50 || exhausted != 14 {
		t.Errorf("%d distinct codes issued and %d exhausted, want 50 and 14", len(codes), exhausted)
	}
	holders, err := f.rdb.HGetAll(f.ctx, couponHolderKey("fifty")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(holders) != 50 {
		t.Errorf("%d contacts hold a code, want 50", len(holders))
	}
	for contact, code := range holders {
		if codes[code] != contact {
			t.Errorf("contact %s holds %s, which was issued to %q", contact, code, codes[code])
		}
	}
	b, _ := f.c.Batch(f.ctx, "fifty")
	if b.Issued != 50 || b.Total != 50 {
		t.Errorf("batch counts total %d issued %d, want 50 and 50", b.Total, b.Issued)
	}
}

func TestIssueGivesOneContactOneCode(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "one", numberedCodes("O-", 20)...)
	var mu sync.Mutex
	codes := map[string]int{}
	fresh := 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			code, isFresh, err := f.c.Issue(f.ctx, "one", "samecontact")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if isFresh {
				fresh++
			}
		})
	}
	wg.Wait()
	if len(codes) != 1 || fresh != 1 {
		t.Errorf("16 concurrent issues gave codes %v with %d fresh; want one code, fresh once", codes, fresh)
	}
	if b, _ := f.c.Batch(f.ctx, "one"); b.Issued != 1 {
		t.Errorf("issued = %d, want 1", b.Issued)
	}
}

func TestRedeem(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "r", "R-0001", "R-0002")
	code, _, err := f.c.Issue(f.ctx, "r", "contact1")
	if err != nil {
		t.Fatal(err)
	}
	unissued := "R-0001"
	if code == unissued {
		unissued = "R-0002"
	}
	f.clock.Set(couponStart.Add(time.Hour))
	at := couponStart.Add(time.Hour + time.Minute) // each case moves the clock a minute first
	first := Redemption{Batch: "r", Code: code, ContactID: "contact1", OrderID: "order-1", RedeemedAt: at}
	repeat := first
	repeat.Duplicate = true
	tests := []struct {
		name, code, order string
		want              Redemption
		err               error
	}{
		{"first use, lower case with spaces", " " + strings.ToLower(code) + " ", "order-1", first, nil},
		{"same order again", code, "order-1", repeat, nil},
		{"another order", code, "order-2", Redemption{}, ErrCouponUsed},
		{"no order id", code, "", Redemption{}, ErrCouponUsed},
		{"code in no batch", "NOPE-0001", "order-3", Redemption{}, ErrCouponUnknown},
		{"code never issued", unissued, "order-3", Redemption{}, ErrCouponUnknown},
		{"malformed code", "x", "order-3", Redemption{}, ErrCouponInvalid},
		{"order id with a newline", code, "a\nb", Redemption{}, ErrCouponInvalid},
		{"order id too long", code, strings.Repeat("o", 129), Redemption{}, ErrCouponInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(time.Minute) // a repeat must report the first time
			got, err := f.c.Redeem(f.ctx, tt.code, tt.order)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("redemption (-want +got):\n%s", diff)
			}
		})
	}
	if b, _ := f.c.Batch(f.ctx, "r"); b.Redeemed != 1 {
		t.Errorf("redeemed = %d, want 1", b.Redeemed)
	}
}

func TestExpiry(t *testing.T) {
	f := newCouponFixture(t)
	b := f.batch(t, "exp", "E-0001", "E-0002", "E-0003")
	used, _, err := f.c.Issue(f.ctx, "exp", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Redeem(f.ctx, used, "o1"); err != nil {
		t.Fatal(err)
	}
	held, _, err := f.c.Issue(f.ctx, "exp", "c2")
	if err != nil {
		t.Fatal(err)
	}

	f.clock.Set(b.ExpiresAt.Add(-time.Millisecond))
	if _, _, err := f.c.Issue(f.ctx, "exp", "c2"); err != nil {
		t.Errorf("issue a millisecond before expiry: %v", err)
	}
	f.clock.Set(b.ExpiresAt)
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"issue", issueErr(f.c.Issue(f.ctx, "exp", "c3")), ErrCouponExpired},
		{"issue to a holder", issueErr(f.c.Issue(f.ctx, "exp", "c2")), ErrCouponExpired},
		{"redeem", second(f.c.Redeem(f.ctx, held, "o2")), ErrCouponExpired},
		{"repeat an earlier redemption", second(f.c.Redeem(f.ctx, used, "o1")), nil},
		{"add codes", second(f.c.AddCodes(f.ctx, "exp", []string{"E-0004"})), ErrCouponExpired},
		{"generate", second(f.c.Generate(f.ctx, "exp", 1, "")), ErrCouponExpired},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s after expiry: err = %v, want %v", c.name, c.err, c.want)
		}
	}
}

// second returns the error of a call with one other result.
func second[A any](_ A, err error) error { return err }

func issueErr(_ string, _ bool, err error) error { return err }

func TestIssueErrors(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "empty")
	for _, tt := range []struct {
		name, batch, contact string
		want                 error
	}{
		{"empty batch", "empty", "c1", ErrCouponsExhausted},
		{"unknown batch", "nope", "c1", ErrCouponBatchNotFound},
		{"bad batch id", "No", "c1", ErrCouponInvalid},
		{"no contact", "empty", "", ErrCouponInvalid},
		{"contact id with a space", "empty", "a b", ErrCouponInvalid},
	} {
		if _, _, err := f.c.Issue(f.ctx, tt.batch, tt.contact); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestUnredeemed(t *testing.T) {
	f := newCouponFixture(t)
	f.batch(t, "u", numberedCodes("U-", 2500)...)
	want := make([]IssuedCoupon, 0, 2400)
	for i := range 2400 {
		contact := fmt.Sprintf("c%04d", i)
		code, _, err := f.c.Issue(f.ctx, "u", contact)
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := f.c.Redeem(f.ctx, code, "order-"+contact); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want = append(want, IssuedCoupon{ContactID: contact, Code: code})
	}
	got, err := f.c.Unredeemed(f.ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unredeemed (-want +got):\n%s", diff)
	}
	if _, err := f.c.Unredeemed(f.ctx, "nope"); !errors.Is(err, ErrCouponBatchNotFound) {
		t.Errorf("unknown batch: err = %v", err)
	}
}

func TestCouponKeysExpireAfterRetention(t *testing.T) {
	f := newCouponFixture(t)
	b := f.batch(t, "ttl", "T-0001", "T-0002")
	code, _, err := f.c.Issue(f.ctx, "ttl", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.c.Redeem(f.ctx, code, "o1"); err != nil {
		t.Fatal(err)
	}
	keys, err := f.rdb.Keys(f.ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 7 { // meta, avail, codes, holder, redeemed and two code keys
		t.Errorf("keys = %v, want 7", keys)
	}
	want := b.ExpiresAt.Add(couponRetention)
	for _, k := range keys {
		at, err := f.rdb.ExpireTime(f.ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(int64(at/time.Second), 0); got.Sub(want).Abs() > time.Second {
			t.Errorf("key %s expires at %v, want %v", k, got, want)
		}
	}
}
