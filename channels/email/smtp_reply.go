package email

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply limits. RFC 5321 caps a reply line at 512 octets; we allow more
// because real servers overshoot, but a server that streams without end must
// not make us buffer without end.
const (
	maxReplyLines   = 64
	maxReplyTextLen = 4096
)

// errProtocol marks a reply that is not SMTP at all. The connection cannot be
// trusted afterwards.
var errProtocol = errors.New("the SMTP server sent a malformed reply")

// ReplyError is a refusal from the SMTP server. It unwraps to ErrRejected, and
// callers that need the server's own words use errors.As.
type ReplyError struct {
	// Command is the verb that was refused (MAIL, RCPT, DATA, AUTH, ...).
	Command string
	Code    int
	Text    string
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("the SMTP server refused %s with %d %s", e.Command, e.Code, e.Text)
}

func (e *ReplyError) Unwrap() error { return ErrRejected }

// readReply reads one (possibly multi-line) reply. The text is only gathered
// when keepText is set or the reply is not a success, because the hot path
// needs just the code.
func readReply(r *bufio.Reader, keepText bool) (int, string, error) {
	code := 0
	var text strings.Builder
	for n := 0; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return 0, "", fmt.Errorf("%w: a reply line is longer than %d bytes", errProtocol, r.Size())
		}
		if err != nil {
			return 0, "", err
		}
		c, more, body, err := parseReplyLine(line)
		if err != nil {
			return 0, "", err
		}
		if n == 0 {
			code = c
		} else if c != code {
			return 0, "", fmt.Errorf("%w: a multi-line reply changed its code from %d to %d", errProtocol, code, c)
		}
		if keepText || code >= 400 {
			if text.Len() > 0 {
				text.WriteByte('\n')
			}
			if text.Len()+len(body) <= maxReplyTextLen {
				text.Write(body)
			}
		}
		if !more {
			return code, text.String(), nil
		}
		if n+1 >= maxReplyLines {
			return 0, "", fmt.Errorf("%w: a reply ran over %d lines", errProtocol, maxReplyLines)
		}
	}
}

// parseReplyLine splits "250-text\r\n" or "250 text\r\n" into its parts;
// more says a continuation line follows. A bare "250\r\n" is allowed.
func parseReplyLine(line []byte) (code int, more bool, text []byte, err error) {
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n > 1 && line[n-2] == '\r' {
			line = line[:n-2]
		}
	}
	if len(line) < 3 {
		return 0, false, nil, fmt.Errorf("%w: %q is too short to hold a reply code", errProtocol, line)
	}
	for _, d := range line[:3] {
		if d < '0' || d > '9' {
			return 0, false, nil, fmt.Errorf("%w: %q does not start with a reply code", errProtocol, line)
		}
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if code < 200 || code > 599 {
		return 0, false, nil, fmt.Errorf("%w: reply code %d is outside 200-599", errProtocol, code)
	}
	if len(line) == 3 {
		return code, false, nil, nil
	}
	switch line[3] {
	case ' ':
		return code, false, line[4:], nil
	case '-':
		return code, true, line[4:], nil
	}
	return 0, false, nil, fmt.Errorf("%w: %q has %q after its code; want a space or a dash", errProtocol, line, line[3])
}

// extensions is what an EHLO reply advertised.
type extensions struct {
	pipelining bool
	startTLS   bool
	size       int64 // the server's message size limit; 0 when it gave none
	auth       []string
}

// parseEHLO reads the keyword lines after the greeting line of an EHLO reply.
func parseEHLO(text string) extensions {
	var ext extensions
	lines := strings.Split(text, "\n")
	for _, l := range lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		switch strings.ToUpper(kw) {
		case "PIPELINING":
			ext.pipelining = true
		case "STARTTLS":
			ext.startTLS = true
		case "SIZE":
			if n, err := strconv.ParseInt(strings.TrimSpace(params), 10, 64); err == nil && n > 0 {
				ext.size = n
			}
		case "AUTH":
			ext.auth = strings.Fields(strings.ToUpper(params))
		}
	}
	return ext
}

// queueID picks the server's id for an accepted message out of its final
// reply, so a later bounce or log line can be matched. Postfix says
// "queued as 4F2D81234", Exim "id=1abc-…"; others get their whole reply text.
func queueID(text string) string {
	if i := strings.Index(text, "queued as "); i >= 0 {
		if f := strings.Fields(text[i+len("queued as "):]); len(f) > 0 {
			return strings.TrimRight(f[0], ".,;")
		}
	}
	if i := strings.Index(text, "id="); i >= 0 {
		if f := strings.Fields(text[i+len("id="):]); len(f) > 0 {
			return strings.TrimRight(f[0], ".,;")
		}
	}
	text = strings.TrimSpace(text)
	if len(text) > 200 {
		text = text[:200]
	}
	return text
}
