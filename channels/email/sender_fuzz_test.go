package email

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/journeygate/gateway/channels"
)

var wordDecoder = new(mime.WordDecoder)

// FuzzReadReply feeds arbitrary server output to the reply reader: it must
// never panic, never loop, and accept only well-formed replies.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"250 2.0.0 OK: queued as 4F2D81234\r\n",
		"250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 AUTH PLAIN LOGIN\r\n",
		"354\r\n",
		"421 4.4.2 Idle timeout, bye bye\r\n",
		"250-a\r\n550 b\r\n",
		"",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, keep bool) {
		code, text, err := readReply(bufio.NewReaderSize(bytes.NewReader(data), readBufSize), keep)
		if err != nil {
			if code != 0 || text != "" {
				t.Fatalf("error %v came with code %d and text %q", err, code, text)
			}
			return
		}
		if code < 200 || code > 599 {
			t.Fatalf("accepted code %d", code)
		}
		if want := int(data[0]-'0')*100 + int(data[1]-'0')*10 + int(data[2]-'0'); code != want {
			t.Fatalf("code %d, but the reply starts with %q", code, data[:3])
		}
		if len(text) > maxReplyTextLen+maxReplyLines {
			t.Fatalf("text of %d bytes", len(text))
		}
		if !keep && code < 400 && text != "" {
			t.Fatalf("text %q kept for a success", text)
		}
		ext := parseEHLO(text)
		if ext.size < 0 {
			t.Fatalf("negative SIZE %d", ext.size)
		}
		_ = queueID(text)
	})
}

// FuzzWriteData holds that what an SMTP server reads back from the DATA
// phase is exactly the message, whatever lines it holds.
func FuzzWriteData(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", ".\r\n", "..x\r\n.\r\n", "no line break", "\r\n.\r\n.", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if bytes.ContainsAny(msg, "\r\n") && !bytes.Equal(bytes.ReplaceAll(bytes.ReplaceAll(msg, crlf, nil), []byte("\n"), nil), bytes.ReplaceAll(bytes.ReplaceAll(msg, crlf, nil), []byte("\r"), nil)) {
			return // bare CR or LF: render never makes them
		}
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		writeData(w, msg)
		w.Flush()
		got, err := io.ReadAll(textproto.NewReader(bufio.NewReader(&out)).DotReader())
		if err != nil {
			t.Fatalf("DotReader: %v", err)
		}
		want := bytes.ReplaceAll(msg, crlf, []byte("\n"))
		if len(want) == 0 || want[len(want)-1] != '\n' {
			want = append(want, '\n')
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("sent %q, the server read %q", msg, got)
		}
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\r\n.\r\n")) {
			t.Fatalf("DATA does not end in CRLF.CRLF: %q", out.Bytes())
		}
	})
}

// FuzzRewriteLinks holds that rewriting never breaks the markup around the
// links (the same '<' count), every link it makes verifies, and a second
// pass changes nothing (tracked links are never tracked again).
func FuzzRewriteLinks(f *testing.F) {
	for _, s := range []string{
		campaignHTML,
		`<a href=https://e.com/u class=b>`,
		`<a href="https://e.com/?a=1&amp;b=2">`,
		`<a href='mailto:x@y.cn'>`,
		`<a href="https://e.com/`,
		`<AREA HREF = "http://e.com">`,
		`<a title="<a href='https://e.com/'>" href="https://e.com/2">`,
	} {
		f.Add(s)
	}
	tr := newTestTracker(f)
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, testBase) {
			return // links that look like ours are deliberately left alone
		}
		out := string(tr.rewriteLinks(nil, s, linkClaim))
		if strings.Count(out, "<") != strings.Count(s, "<") || strings.Count(out, ">") != strings.Count(s, ">") {
			t.Fatalf("markup changed:\n in %q\nout %q", s, out)
		}
		rest := out
		for {
			i := strings.Index(rest, testBase+routeClick)
			if i < 0 {
				break
			}
			rest = rest[i+len(testBase+routeClick):]
			n := 0
			for n < len(rest) && isBase64URL(rest[n]) {
				n++
			}
			c, err := tr.tokens.Verify(rest[:n], KindClick)
			if err != nil {
				t.Fatalf("made a link that does not verify: %v\n in %q\nout %q", err, s, out)
			}
			if !hasPrefixFold(c.URL, "http://") && !hasPrefixFold(c.URL, "https://") {
				t.Fatalf("tracked a non-http link %q", c.URL)
			}
		}
		if again := string(tr.rewriteLinks(nil, out, linkClaim)); again != out {
			t.Fatalf("a second pass changed the mail:\nfirst  %q\nsecond %q", out, again)
		}
	})
}

// FuzzRender renders untracked mail from arbitrary subjects and bodies: what
// a mail client decodes must be what was sent, and render must refuse, not
// garble, what it cannot carry.
func FuzzRender(f *testing.F) {
	f.Add("【研讨会】明天见", campaignHTML, campaignText)
	f.Add("Hello", "", "only text")
	f.Add("Hi", "<p>only html</p>", "")
	f.Add("x\r\nBcc: a@b.cn", "a", "b")
	f.Add(strings.Repeat("很长的标题 ", 30), ".\r\n.\r\n", "..\n.")
	s := newTestSender(f, "127.0.0.1:25", nil)
	f.Fuzz(func(t *testing.T, subject, html, text string) {
		if strings.Contains(html, UnsubscribeURLPlaceholder) || strings.Contains(text, UnsubscribeURLPlaceholder) {
			return // replaced on purpose
		}
		m := &channels.Outbound{ID: "m1", Purpose: channels.Transactional, Kind: channels.KindEmail,
			To: "a@example.com", Subject: subject, HTML: html, Text: text}
		msg, err := s.render(m)
		if err != nil {
			return
		}
		for i, line := range strings.Split(string(msg), "\r\n") {
			if len(line) > 998 {
				t.Fatalf("line %d is %d bytes", i, len(line))
			}
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("line %d holds a bare CR or LF", i)
			}
		}
		p := parseMessage(t, msg)
		if !utf8.ValidString(subject) {
			return
		}
		got, err := wordDecoder.DecodeHeader(p.Header.Get("Subject"))
		// Go's header reader collapses folding whitespace; RFC 5322
		// unfolding would keep it.
		if err != nil || strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(subject), " ") {
			t.Fatalf("subject %q came back as %q (%v)", subject, got, err)
		}
		for mediaType, body := range map[string]string{"text/html": html, "text/plain": text} {
			// Quoted-printable text takes a bare CR as a line break too.
			want := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
			dec, ok := p.Parts[mediaType]
			if body == "" {
				if ok {
					t.Fatalf("an empty %s body became a part", mediaType)
				}
				continue
			}
			// A single quoted-printable part gains the mail's last line break.
			if dec != want && dec != want+"\n" {
				t.Fatalf("%s body %q came back as %q", mediaType, want, dec)
			}
		}
	})
}
