package transfer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/journeygate/gateway/channels/sms"
	"github.com/journeygate/gateway/contacts"
)

// FuzzMapRows feeds arbitrary bytes through the CSV decoder and the column
// mapping: nothing panics, a file either fails with ErrBadFile or yields
// rows that are each rejected with a line and reason or carry normalised
// identities the contact store accepts.
func FuzzMapRows(f *testing.F) {
	f.Add([]byte(fixtureCSV), "")
	f.Add([]byte("\uFEFF手机号,标签\n+86 138-0013-8000,a、b；c\n"), "")
	f.Add([]byte("\xca\xd6\xbb\xfa\xba\xc5\n13800138000\n"), "gbk")
	f.Add([]byte("phone,consent:sms,consent_date\n13800138000,yes,45962\n"), "utf-8")
	f.Add([]byte("email,\"na\"\"me\"\n A@B.CN ,x\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		enc, err := normalizeEncoding(enc)
		if err != nil {
			return
		}
		rs, err := newCSVRows(bytes.NewReader(data), enc)
		if err != nil {
			return
		}
		header, err := readHeader(rs)
		if err != nil {
			if !errors.Is(err, ErrBadFile) {
				t.Fatalf("header: %v is not ErrBadFile", err)
			}
			return
		}
		mp, err := newMapper(header, map[string]string{RestKey: "field"}, channelSet(nil), "", sms.NormalizePhone, "0123456789abcdef")
		if err != nil {
			if !errors.Is(err, ErrBadFile) {
				t.Fatalf("mapping: %v is not ErrBadFile", err)
			}
			return
		}
		for {
			line, cells, err := rs.next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrBadFile) {
					t.Fatalf("row: %v is not ErrBadFile", err)
				}
				return
			}
			row, rej, empty := mp.mapRow(line, cells)
			switch {
			case empty:
			case rej != nil:
				if rej.Line < 1 || rej.Reason == "" {
					t.Fatalf("reject without line or reason: %+v", rej)
				}
			default:
				if len(row.ids) == 0 {
					t.Fatalf("line %d accepted without an identity", line)
				}
				for _, id := range row.ids {
					n, err := contacts.NormalizeIdentity(id)
					if err != nil || n != id {
						t.Fatalf("line %d: identity %v is not in stored form (%v)", line, id, err)
					}
					if id.Kind == contacts.KindPhone && !strings.HasPrefix(id.Value, "+") {
						t.Fatalf("line %d: phone %q not normalised", line, id.Value)
					}
				}
			}
		}
	})
}
