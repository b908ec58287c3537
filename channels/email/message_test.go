package email

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteData(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"nothing to stuff", "a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"adds the last line break", "a\r\nb", "a\r\nb\r\n.\r\n"},
		{"leading dot", ".a\r\n", "..a\r\n.\r\n"},
		{"dot lines", "a\r\n.\r\n..b\r\n", "a\r\n..\r\n...b\r\n.\r\n"},
		{"empty", "", "\r\n.\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			w := bufio.NewWriterSize(&out, 16) // small, so chunks pass both ways
			writeData(w, []byte(tt.in))
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
