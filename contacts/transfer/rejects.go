package transfer

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// rejectsPage is how many rejects one LRANGE reads while streaming the report.
const rejectsPage = 1000

// WriteRejects writes the job's rejected rows as CSV (line, column,
// reason), UTF-8 with a byte order mark so Excel opens the Chinese text
// right, streaming them from Redis a page at a time.
func (im *Imports) WriteRejects(ctx context.Context, id string, w io.Writer) error {
	if _, err := im.Get(ctx, id); err != nil {
		return err
	}
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"line", "column", "reason"}); err != nil {
		return err
	}
	for start := int64(0); ; start += rejectsPage {
		page, err := im.rdb.LRange(ctx, importRejectsKey(id), start, start+rejectsPage-1).Result()
		if err != nil {
			return fmt.Errorf("transfer: read rejects of %s: %w", id, err)
		}
		for _, raw := range page {
			var r Reject
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				continue
			}
			if err := cw.Write([]string{strconv.Itoa(r.Line), r.Column, r.Reason}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if len(page) < rejectsPage {
			return nil
		}
	}
}
