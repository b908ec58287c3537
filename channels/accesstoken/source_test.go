package accesstoken

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/internal/redistest"
)

func TestOneRefreshAcrossProcesses(t *testing.T) {
	rdb := redistest.Client(t)
	var fetches atomic.Int32
	fetch := func(ctx context.Context) (string, time.Duration, error) {
		n := fetches.Add(1)
		time.Sleep(20 * time.Millisecond) // a platform round trip, so the others queue behind the lock
		return "tok" + string('0'+n), 2 * time.Hour, nil
	}
	// Two Sources on one key stand for two gateway processes.
	a, _ := New(rdb, "wecom:corp:1", fetch, Options{Poll: 5 * time.Millisecond})
	b, _ := New(rdb, "wecom:corp:1", fetch, Options{Poll: 5 * time.Millisecond})
	var wg sync.WaitGroup
	got := make([]string, 32)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := a
			if i%2 == 1 {
				src = b
			}
			tok, err := src.GetAccessTokenContext(t.Context())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 32 concurrent readers in two processes, want 1", n)
	}
	for _, tok := range got {
		if tok != "tok1" {
			t.Fatalf("a reader got %q, want the shared tok1", tok)
		}
	}
	ttl := rdb.TTL(t.Context(), tokenKey("wecom:corp:1")).Val()
	if ttl > 2*time.Hour-5*time.Minute || ttl < 2*time.Hour-6*time.Minute {
		t.Errorf("token TTL %v, want the platform's 2h less the 5m margin", ttl)
	}
}

func TestInvalidateDropsOnlyTheFailedToken(t *testing.T) {
	rdb := redistest.Client(t)
	var fetches atomic.Int32
	src, _ := New(rdb, "oa:app", func(ctx context.Context) (string, time.Duration, error) {
		fetches.Add(1)
		return "fresh", time.Hour, nil
	}, Options{})
	rdb.Set(t.Context(), tokenKey("oa:app"), "current", time.Hour)
	if err := src.Invalidate(t.Context(), "older"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := src.GetAccessTokenContext(t.Context()); tok != "current" {
		t.Fatalf("invalidating an older token dropped the current one: got %q", tok)
	}
	if err := src.Invalidate(t.Context(), "current"); err != nil {
		t.Fatal(err)
	}
	if tok, _ := src.GetAccessTokenContext(t.Context()); tok != "fresh" || fetches.Load() != 1 {
		t.Fatalf("after invalidating: %q with %d fetches, want fresh after 1", tok, fetches.Load())
	}
}

func TestFetchersThroughTheSDKClient(t *testing.T) {
	var seen []string
	stand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery)
		switch {
		case r.URL.Query().Get("corpsecret") == "bad" || r.URL.Query().Get("secret") == "bad":
			_, _ = w.Write([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
		default:
			_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200}`))
		}
	}))
	defer stand.Close()
	client, err := channels.NewPlatformClient(time.Second, map[string]string{channels.WeComAPIHost: stand.URL, channels.WeChatAPIHost: stand.URL})
	if err != nil {
		t.Fatal(err)
	}
	prev := util.DefaultHTTPClient
	util.DefaultHTTPClient = client
	t.Cleanup(func() { util.DefaultHTTPClient = prev })

	tok, exp, err := WeComFetcher("ww1", "s3cret")(t.Context())
	if err != nil || tok != "T" || exp != 2*time.Hour {
		t.Fatalf("WeCom fetch = %q %v %v", tok, exp, err)
	}
	if _, _, err := OfficialAccountFetcher("wx1", "bad")(t.Context()); !errors.Is(err, ErrCredentials) || !strings.Contains(err.Error(), "40001") {
		t.Fatalf("bad secret: %v, want ErrCredentials naming errcode 40001", err)
	}
	stand.Close()
	if _, _, err := WeComFetcher("ww1", "topsecret")(t.Context()); err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("a failed request's error %q must exist and not quote the secret", err)
	}
	want := []string{"/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cret", "/cgi-bin/token?appid=wx1&grant_type=client_credential&secret=bad"}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestFailedFetchReleasesTheLock(t *testing.T) {
	rdb := redistest.Client(t)
	calls := 0
	src, _ := New(rdb, "x", func(ctx context.Context) (string, time.Duration, error) {
		calls++
		if calls == 1 {
			return "", 0, errors.New("platform down")
		}
		return "ok", time.Hour, nil
	}, Options{})
	if _, err := src.GetAccessTokenContext(t.Context()); err == nil {
		t.Fatal("a failed fetch returned no error")
	}
	if tok, err := src.GetAccessTokenContext(t.Context()); err != nil || tok != "ok" {
		t.Fatalf("the next call = %q %v; the lock of the failed fetch was not released", tok, err)
	}
}

func TestCacheAdapter(t *testing.T) {
	c := NewCache(redistest.Client(t), "work:")
	if c.Get("k") != nil || c.IsExist("k") {
		t.Fatal("a miss must be nil / false")
	}
	if err := c.Set("k", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if c.Get("k") != "v" || !c.IsExist("k") {
		t.Fatalf("Get = %v", c.Get("k"))
	}
	if err := c.Set("n", 42, time.Minute); err == nil {
		t.Error("a non-string value was accepted")
	}
	if err := c.Delete("k"); err != nil || c.IsExist("k") {
		t.Fatalf("Delete: %v", err)
	}
}
