package email

import (
	"html"
	"strings"
)

// UnsubscribeURLPlaceholder, written anywhere in a message's HTML or text
// (typically a footer link), is replaced with the recipient's signed
// unsubscribe link, so templates can show the opt-out the law asks for
// without knowing how links are signed.
const UnsubscribeURLPlaceholder = "%%unsubscribe_url%%"

// tracker rewrites a marketing mail's links to pass through our click
// redirect and adds the open pixel.
type tracker struct {
	tokens *Tokens
	base   string // PublicBaseURL without a trailing slash
	// attrBase is base escaped for an HTML attribute.
	attrBase string
}

// Route prefixes below PublicBaseURL; the gateway serves them.
const (
	routeOpen        = "/t/o/"
	routeClick       = "/t/c/"
	routeUnsubscribe = "/u/"
	routeTracking    = "/t/"
)

// rewriteLinks appends s to dst with every http(s) href of an <a> or <area>
// tag replaced by a signed click link. mailto:, tel:, anchors, relative
// links and our own unsubscribe and tracking links stay as they are, and so
// does a link the token cannot carry (longer than 2 KB): the mail still works,
// only that click goes uncounted. claim carries everything but the URL.
func (t *tracker) rewriteLinks(dst []byte, s string, claim Claim) []byte {
	type signed struct{ url, token string }
	var seen []signed // a mail repeats links (logo, button, footer): sign each once
	i := 0
	for {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		j += i
		vs, ve, quoted, end := findHref(s, j+1)
		if vs < 0 {
			// Not a link tag or no href: copy through the tag's start and
			// go on after it, without skipping any '<' the tag held.
			dst = append(dst, s[i:end]...)
			i = end
			continue
		}
		link := s[vs:ve]
		if strings.IndexByte(link, '&') >= 0 {
			link = html.UnescapeString(link)
		}
		link = strings.TrimSpace(link)
		token := ""
		if t.trackable(link) {
			for _, sg := range seen {
				if sg.url == link {
					token = sg.token
					break
				}
			}
			if token == "" {
				c := claim
				c.Kind, c.URL = KindClick, link
				if tok, err := t.tokens.Sign(c); err == nil {
					token = tok
					seen = append(seen, signed{link, tok})
				}
			}
		}
		if token == "" {
			dst = append(dst, s[i:end]...)
			i = end
			continue
		}
		dst = append(dst, s[i:vs]...)
		if !quoted {
			dst = append(dst, '"')
		}
		dst = append(dst, t.attrBase...)
		dst = append(dst, routeClick...)
		dst = append(dst, token...)
		if !quoted {
			dst = append(dst, '"')
		}
		dst = append(dst, s[ve:end]...)
		i = end
	}
	return append(dst, s[i:]...)
}

// trackable says whether a link leaves through the click redirect. A link
// with characters no URL may hold (RFC 3986) is left as the author wrote
// it: the redirect would have to guess what the browser makes of it.
func (t *tracker) trackable(link string) bool {
	if !hasPrefixFold(link, "http://") && !hasPrefixFold(link, "https://") {
		return false
	}
	for i := 0; i < len(link); i++ {
		if notInURL[link[i]] {
			return false
		}
	}
	if rest, ok := strings.CutPrefix(link, t.base); ok {
		if strings.HasPrefix(rest, routeUnsubscribe) || strings.HasPrefix(rest, routeTracking) {
			return false
		}
	}
	return true
}

// notInURL marks the ASCII bytes RFC 3986 never allows in a URL.
var notInURL = func() (t [256]bool) {
	for b := 0; b <= ' '; b++ {
		t[b] = true
	}
	for _, b := range []byte("<>\"`\\{}|^\x7f") {
		t[b] = true
	}
	return t
}()

// findHref looks at the tag starting after the '<' at s[p-1]. For an <a> or
// <area> tag with an href it returns the value's span (without quotes) and
// whether it was quoted; vs is -1 otherwise. end is where scanning resumes:
// after the tag's '>' for a link tag, else just after the tag name.
func findHref(s string, p int) (vs, ve int, quoted bool, end int) {
	n := p
	for n < len(s) && isASCIILetter(s[n]) {
		n++
	}
	name := s[p:n]
	if !(strings.EqualFold(name, "a") || strings.EqualFold(name, "area")) || n >= len(s) || !(isHTMLSpace(s[n]) || s[n] == '/' || s[n] == '>') {
		return -1, -1, false, n
	}
	vs, ve = -1, -1
	q := n
	for {
		for q < len(s) && (isHTMLSpace(s[q]) || s[q] == '/') {
			q++
		}
		if q >= len(s) {
			return -1, -1, false, len(s)
		}
		if s[q] == '>' {
			return vs, ve, quoted, q + 1
		}
		an := q
		for q < len(s) && !isHTMLSpace(s[q]) && s[q] != '=' && s[q] != '>' && s[q] != '/' {
			q++
		}
		attr := s[an:q]
		for q < len(s) && isHTMLSpace(s[q]) {
			q++
		}
		if q >= len(s) || s[q] != '=' {
			continue // an attribute without a value
		}
		q++
		for q < len(s) && isHTMLSpace(s[q]) {
			q++
		}
		if q >= len(s) {
			return -1, -1, false, len(s)
		}
		var a, b int
		isQuoted := s[q] == '"' || s[q] == '\''
		if isQuoted {
			close := strings.IndexByte(s[q+1:], s[q])
			if close < 0 {
				return -1, -1, false, len(s) // unterminated: leave the rest alone
			}
			a, b = q+1, q+1+close
			q = b + 1
		} else {
			a = q
			for q < len(s) && !isHTMLSpace(s[q]) && s[q] != '>' {
				q++
			}
			b = q
		}
		// The first href wins, as in browsers.
		if vs < 0 && strings.EqualFold(attr, "href") {
			vs, ve, quoted = a, b, isQuoted
		}
	}
}

// pixel appends the open-tracking image tag for token.
func (t *tracker) pixel(dst []byte, token string) []byte {
	dst = append(dst, `<img src="`...)
	dst = append(dst, t.attrBase...)
	dst = append(dst, routeOpen...)
	dst = append(dst, token...)
	return append(dst, `" width="1" height="1" alt="">`...)
}

// bodyEnd is where the open pixel goes: before the last </body>, else at the end.
func bodyEnd(s string) int {
	for i := len(s) - len("</body"); i >= 0; i-- {
		if s[i] == '<' && s[i+1] == '/' && hasPrefixFold(s[i+2:], "body") {
			return i
		}
	}
	return len(s)
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isASCIILetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

func isHTMLSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f'
}
