package channels

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPlatformClientRewritesOnlyNamedHosts(t *testing.T) {
	var got string
	stand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Host + " " + r.URL.RequestURI()
		_, _ = io.WriteString(w, "ok")
	}))
	defer stand.Close()
	client, err := NewPlatformClient(time.Second, map[string]string{WeComAPIHost: stand.URL + "/wecom/", WeChatAPIHost: ""})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get("https://" + WeComAPIHost + "/cgi-bin/gettoken?corpid=a&corpsecret=b")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := stand.Listener.Addr().String() + " /wecom/cgi-bin/gettoken?corpid=a&corpsecret=b"
	if got != want {
		t.Errorf("stand-in saw %q, want %q", got, want)
	}
	if _, err := NewPlatformClient(time.Second, map[string]string{WeComAPIHost: "127.0.0.1:9001"}); err == nil {
		t.Error("a base without a scheme was accepted")
	}
}

func TestPlatformClientTimesOut(t *testing.T) {
	hang := make(chan struct{})
	stand := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer stand.Close()
	defer close(hang)
	client, err := NewPlatformClient(100*time.Millisecond, map[string]string{WeChatAPIHost: stand.URL})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := client.Get("https://" + WeChatAPIHost + "/cgi-bin/token"); err == nil {
		t.Fatal("a hung platform did not time out")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timed out after %v, want about 100ms", time.Since(start))
	}
}
