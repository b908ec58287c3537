package email

import (
	"bytes"
	"encoding/base64"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/journeygate/gateway/internal/testclock"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

const (
	testBase = "https://t.example.com"
	testFrom = "市场部 <news@example.com>"
)

// newTestSender sends to addr with tracking on and a fixed clock.
func newTestSender(t testing.TB, addr string, tune func(*SenderConfig)) *Sender {
	t.Helper()
	cfg := SenderConfig{
		Addr:              addr,
		From:              testFrom,
		PublicBaseURL:     testBase + "/",
		Tokens:            newTestTokens(t, testclock.New(testNow)),
		UnsubscribeMailto: "unsubscribe@example.com",
		CommandTimeout:    5 * time.Second,
		Now:               func() time.Time { return testNow },
	}
	if tune != nil {
		tune(&cfg)
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const campaignHTML = `<html><head><link rel="stylesheet" href="https://example.com/style.css"></head><body>
<p>张伟，您好！研讨会明天开始。</p>
<a href="https://example.com/webinar?id=7&amp;utm=mail">报名</a>
<A HREF='http://example.com/a'>a</A>
<a class="btn" href=https://example.com/unquoted>u</a>
<a href="mailto:sales@example.com">mail</a>
<a href="tel:+861012345678">call</a>
<a href="#top">top</a>
<a href="/relative">rel</a>
<a title="x" href=" https://example.com/webinar?id=7&amp;utm=mail ">again</a>
<a href="%%unsubscribe_url%%">退订</a>
<map><area shape="rect" href="https://example.com/map" alt=""></map>
</body></html>
`

const campaignText = "张伟，您好！\n研讨会明天开始：https://example.com/webinar?id=7\n退订：%%unsubscribe_url%%\n"

func campaignMessage(id string) *channels.Outbound {
	return &channels.Outbound{
		ID: id, Channel: channels.Email, Purpose: channels.Marketing, Kind: channels.KindEmail,
		To: "Zhang.Wei@example.com", ContactID: "c_48213377", Campaign: "webinar-2611",
		Subject: "【研讨会】明天见 – Webinar tomorrow", HTML: campaignHTML, Text: campaignText,
		Headers: map[string]string{"X-Campaign": "webinar-2611", "Reply-To": "销售部 <sales@example.com>"},
	}
}

// parsed is a received message taken apart the way a mail client would.
type parsed struct {
	Header mail.Header
	Parts  map[string]string // media type → decoded body
}

func parseMessage(t testing.TB, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("the received message does not parse: %v\n%s", err, data)
	}
	p := parsed{Header: msg.Header, Parts: map[string]string{}}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		p.Parts[mediaType] = decodeBody(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body, params["charset"])
		return p
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type is %s, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		pt, pp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		// multipart.Reader decodes quoted-printable itself and drops the header.
		p.Parts[pt] = decodeBody(t, part.Header.Get("Content-Transfer-Encoding"), part, pp["charset"])
	}
	return p
}

func decodeBody(t testing.TB, cte string, r io.Reader, charset string) string {
	t.Helper()
	if !strings.EqualFold(charset, "UTF-8") {
		t.Errorf("charset %q, want UTF-8", charset)
	}
	switch strings.ToLower(cte) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding a %s body: %v", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

var hrefRE = regexp.MustCompile(`(?i)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)

// resolveLinks lists a mail's hrefs with our tracking links verified and
// replaced by what they stand for.
func resolveLinks(t testing.TB, tok *Tokens, body string) []string {
	t.Helper()
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		link := html.UnescapeString(m[1] + m[2] + m[3])
		switch {
		case strings.HasPrefix(link, testBase+"/t/c/"):
			c, err := tok.Verify(strings.TrimPrefix(link, testBase+"/t/c/"), KindClick)
			if err != nil {
				t.Errorf("click link %s: %v", link, err)
			}
			out = append(out, "click "+c.URL)
		case strings.HasPrefix(link, testBase+"/u/"):
			c, err := tok.Verify(strings.TrimPrefix(link, testBase+"/u/"), KindUnsubscribe)
			if err != nil {
				t.Errorf("unsubscribe link %s: %v", link, err)
			}
			out = append(out, "unsubscribe "+c.MessageID)
		default:
			out = append(out, link)
		}
	}
	return out
}

func TestSendMarketing(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, nil)
	tok := s.track.tokens
	m := campaignMessage("01JBQ7Z3W9F7K2M4N5P6")
	rc, err := s.Send(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Kind != channels.KindEmail || rc.PlatformID == "" {
		t.Errorf("receipt %+v, want kind email and the server's queue reply", rc)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	if diff := cmp.Diff([]string{"Zhang.Wei@example.com"}, got[0].To); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	if got[0].From != "news@example.com" {
		t.Errorf("MAIL FROM %q, want news@example.com", got[0].From)
	}
	p := parseMessage(t, got[0].Data)

	raw := string(got[0].Data)
	if !strings.Contains(raw, "From: =?utf-8?") || !strings.Contains(raw, "Subject: =?UTF-8?b?") {
		t.Errorf("From and Subject are not RFC 2047 encoded:\n%s", raw[:strings.Index(raw, "\r\n\r\n")])
	}
	from, err := mail.ParseAddress(p.Header.Get("From"))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	replyTo, err := mail.ParseAddress(p.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	to, err := mail.ParseAddress(p.Header.Get("To"))
	if err != nil {
		t.Fatal(err)
	}
	date, err := p.Header.Date()
	if err != nil {
		t.Fatal(err)
	}
	unsubToken := strings.TrimSuffix(strings.TrimPrefix(p.Header.Get("List-Unsubscribe"), "<mailto:unsubscribe@example.com>, <"+testBase+"/u/"), ">")
	wantHeaders := map[string]string{
		"From":                  "市场部 <news@example.com>",
		"To":                    "<Zhang.Wei@example.com>",
		"Subject":               m.Subject,
		"Date":                  testNow.Format(time.RFC3339),
		"Message-ID":            "<01JBQ7Z3W9F7K2M4N5P6@example.com>",
		"MIME-Version":          "1.0",
		"Reply-To":              "销售部 <sales@example.com>",
		"X-Campaign":            "webinar-2611",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	gotHeaders := map[string]string{
		"From":                  from.Name + " <" + from.Address + ">",
		"To":                    to.String(),
		"Subject":               subject,
		"Date":                  date.UTC().Format(time.RFC3339),
		"Message-ID":            p.Header.Get("Message-ID"),
		"MIME-Version":          p.Header.Get("MIME-Version"),
		"Reply-To":              replyTo.Name + " <" + replyTo.Address + ">",
		"X-Campaign":            p.Header.Get("X-Campaign"),
		"List-Unsubscribe-Post": p.Header.Get("List-Unsubscribe-Post"),
	}
	if diff := cmp.Diff(wantHeaders, gotHeaders); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}

	want := Claim{MessageID: m.ID, ContactID: m.ContactID, Address: "zhang.wei@example.com", Campaign: m.Campaign}
	unsub, err := tok.Verify(unsubToken, KindUnsubscribe)
	if err != nil {
		t.Fatalf("List-Unsubscribe %q: %v", p.Header.Get("List-Unsubscribe"), err)
	}
	wantUnsub := want
	wantUnsub.Kind = KindUnsubscribe
	if diff := cmp.Diff(wantUnsub, unsub); diff != "" {
		t.Errorf("unsubscribe claim (-want +got):\n%s", diff)
	}

	htmlBody := p.Parts["text/html"]
	wantLinks := []string{
		"https://example.com/style.css",
		"click https://example.com/webinar?id=7&utm=mail",
		"click http://example.com/a",
		"click https://example.com/unquoted",
		"mailto:sales@example.com",
		"tel:+861012345678",
		"#top",
		"/relative",
		"click https://example.com/webinar?id=7&utm=mail",
		"unsubscribe " + m.ID,
		"click https://example.com/map",
	}
	if diff := cmp.Diff(wantLinks, resolveLinks(t, tok, htmlBody)); diff != "" {
		t.Errorf("links (-want +got):\n%s", diff)
	}
	click := hrefRE.FindAllStringSubmatch(htmlBody, -1)[1][1]
	c, err := tok.Verify(strings.TrimPrefix(click, testBase+"/t/c/"), KindClick)
	if err != nil {
		t.Fatal(err)
	}
	wantClick := want
	wantClick.Kind, wantClick.URL = KindClick, "https://example.com/webinar?id=7&utm=mail"
	if diff := cmp.Diff(wantClick, c); diff != "" {
		t.Errorf("click claim (-want +got):\n%s", diff)
	}

	pixel := regexp.MustCompile(`<img src="` + regexp.QuoteMeta(testBase) + `/t/o/([A-Za-z0-9_-]+)" width="1" height="1" alt=""></body>`).FindStringSubmatch(htmlBody)
	if pixel == nil {
		t.Fatalf("no open pixel right before </body> in:\n%s", htmlBody)
	}
	open, err := tok.Verify(pixel[1], KindOpen)
	if err != nil {
		t.Fatal(err)
	}
	wantOpen := want
	wantOpen.Kind = KindOpen
	if diff := cmp.Diff(wantOpen, open); diff != "" {
		t.Errorf("open claim (-want +got):\n%s", diff)
	}

	wantText := strings.ReplaceAll(campaignText, UnsubscribeURLPlaceholder, testBase+"/u/"+unsubToken)
	if diff := cmp.Diff(wantText, p.Parts["text/plain"]); diff != "" {
		t.Errorf("text part (-want +got):\n%s", diff)
	}
}

func TestSendTransactionalIsNotTracked(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, nil)
	m := campaignMessage("order-1001")
	m.Purpose = channels.Transactional
	m.HTML = `<html><body><a href="https://example.com/order/1001">订单</a></body></html>`
	m.Text = "订单已发货"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, srv.messages()[0].Data)
	for _, h := range []string{"List-Unsubscribe", "List-Unsubscribe-Post"} {
		if v := p.Header.Get(h); v != "" {
			t.Errorf("transactional mail has %s: %s", h, v)
		}
	}
	if diff := cmp.Diff(m.HTML, p.Parts["text/html"]); diff != "" {
		t.Errorf("HTML changed (-want +got):\n%s", diff)
	}
}

func TestSendWithoutTokens(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, func(c *SenderConfig) { c.Tokens = nil })
	m := campaignMessage("m-1")
	m.HTML = `<p><a href="https://example.com/">x</a></p>`
	m.Text = "plain"
	if _, err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	p := parseMessage(t, srv.messages()[0].Data)
	if v := p.Header.Get("List-Unsubscribe"); v != "" {
		t.Errorf("untracked sender wrote List-Unsubscribe: %s", v)
	}
	if diff := cmp.Diff(m.HTML, p.Parts["text/html"]); diff != "" {
		t.Errorf("HTML changed (-want +got):\n%s", diff)
	}
}

func TestSendSinglePart(t *testing.T) {
	srv := startServer(t, nil)
	s := newTestSender(t, srv.Addr, nil)
	tests := []struct {
		name, html, text string
		want             map[string]string
	}{
		{"html only, tracked", `<p>hi <a href="mailto:a@b.cn">x</a></p>`, "",
			map[string]string{"text/html": `<p>hi <a href="mailto:a@b.cn">x</a></p><img src="` + testBase + `/t/o/TOKEN" width="1" height="1" alt="">` + "\n"}},
		{"text only", "", "只有文字\n第二行",
			map[string]string{"text/plain": "只有文字\n第二行\n"}},
		{"text only, a line starts with a dot", "", "Only text.\n.second line starts with a dot",
			map[string]string{"text/plain": "Only text.\n.second line starts with a dot\n"}},
	}
	pixelRE := regexp.MustCompile(`/t/o/[A-Za-z0-9_-]+`)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := campaignMessage("single-" + string(rune('a'+i)))
			m.HTML, m.Text = tt.html, tt.text
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			msgs := srv.messages()
			p := parseMessage(t, msgs[len(msgs)-1].Data)
			for k, v := range p.Parts {
				p.Parts[k] = pixelRE.ReplaceAllString(v, "/t/o/TOKEN")
			}
			if diff := cmp.Diff(tt.want, p.Parts); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
		})
	}
}
