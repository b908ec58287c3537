package email

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadReply(t *testing.T) {
	type result struct {
		Code     int
		Text     string
		Protocol bool // errProtocol
		EOF      bool
	}
	tests := []struct {
		name string
		in   string
		keep bool
		want result
	}{
		{"single line", "250 2.0.0 OK\r\n", true, result{Code: 250, Text: "2.0.0 OK"}},
		{"text dropped on success", "250 OK\r\n", false, result{Code: 250}},
		{"text kept on failure", "550 5.1.1 no such user\r\n", false, result{Code: 550, Text: "5.1.1 no such user"}},
		{"multi-line", "250-mx.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n", true, result{Code: 250, Text: "mx.test\nPIPELINING\nSIZE 100"}},
		{"bare code", "354\r\n", true, result{Code: 354}},
		{"LF only", "220 hi\n", true, result{Code: 220, Text: "hi"}},
		{"code changes mid-reply", "250-a\r\n550 b\r\n", true, result{Protocol: true}},
		{"not a code", "hello\r\n", true, result{Protocol: true}},
		{"code out of range", "199 x\r\n", true, result{Protocol: true}},
		{"bad separator", "250_x\r\n", true, result{Protocol: true}},
		{"too short", "25\r\n", true, result{Protocol: true}},
		{"line too long", "250 " + strings.Repeat("x", readBufSize) + "\r\n", true, result{Protocol: true}},
		{"endless reply", strings.Repeat("250-x\r\n", maxReplyLines+1), true, result{Protocol: true}},
		{"connection closed mid-reply", "250-a\r\n", true, result{EOF: true}},
		{"connection closed", "", true, result{EOF: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, text, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), readBufSize), tt.keep)
			got := result{Code: code, Text: text, Protocol: errors.Is(err, errProtocol), EOF: errors.Is(err, io.EOF)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readReply(%.40q): err %v (-want +got):\n%s", tt.in, err, diff)
			}
		})
	}
}

func TestParseEHLO(t *testing.T) {
	got := parseEHLO("mx.test greets you\nPIPELINING\n8BITMIME\nstarttls\nSIZE 35882577\nAUTH PLAIN login XOAUTH2")
	want := extensions{pipelining: true, startTLS: true, size: 35882577, auth: []string{"PLAIN", "LOGIN", "XOAUTH2"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(extensions{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestQueueID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2.0.0 Ok: queued as 4F2D81234", "4F2D81234"},
		{"OK id=1tZ6Xq-0004Qe-2b", "1tZ6Xq-0004Qe-2b"},
		{"2.0.0 OK: queued", "2.0.0 OK: queued"},
		{"  Ok 0100018c-abcd  ", "Ok 0100018c-abcd"},
	}
	for _, tt := range tests {
		if got := queueID(tt.in); got != tt.want {
			t.Errorf("queueID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVerbHidesCredentials(t *testing.T) {
	tests := []struct{ in, want string }{
		{"EHLO [127.0.0.1]", "EHLO"},
		{"AUTH PLAIN AG1rdABzM2NyZXQ=", "AUTH"},
		{"bWt0", "the AUTH exchange"},
		{"czNjcmV0", "the AUTH exchange"},
		{".", "the end of DATA"},
	}
	for _, tt := range tests {
		if got := verb(tt.in); got != tt.want {
			t.Errorf("verb(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
