package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// chunkSize is how much of a file one Redis string holds: small enough that
// a GET never blocks Redis noticeably, large enough that a 20 MiB file is
// only 80 keys.
const chunkSize = 256 << 10

// chunkWriter stores a stream as numbered chunks with a TTL, one SET per
// full chunk, so neither side ever holds the whole file.
type chunkWriter struct {
	ctx   context.Context
	rdb   redis.UniversalClient
	key   func(n int) string
	ttl   time.Duration
	limit int64 // 0 = none
	buf   []byte
	n     int
	size  int64
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if w.limit > 0 && w.size+int64(len(p)) > w.limit {
		return 0, fmt.Errorf("transfer: the file is over %d bytes: %w", w.limit, ErrTooLarge)
	}
	written := len(p)
	w.size += int64(len(p))
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, chunkSize)
		}
		k := min(len(p), chunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return written, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if err := w.rdb.Set(w.ctx, w.key(w.n), w.buf, w.ttl).Err(); err != nil {
		return fmt.Errorf("transfer: store file chunk %d: %w", w.n, err)
	}
	w.n++
	w.buf = w.buf[:0]
	return nil
}

// Close stores the last partial chunk; chunks is the count afterwards.
func (w *chunkWriter) Close() error { return w.flush() }

// readFrom copies r into w, enforcing the limit while reading, so an
// oversized upload stops at the limit instead of being read to its end.
func (w *chunkWriter) readFrom(r io.Reader) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return w.Close()
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("transfer: the file is over %d bytes: %w", tooLarge.Limit, ErrTooLarge)
		}
		if err != nil {
			return fmt.Errorf("transfer: read the upload: %w", err)
		}
	}
}

// deleteChunks removes chunks 0..n-1 (best effort beyond n: callers pass
// the count they know).
func deleteChunks(ctx context.Context, rdb redis.UniversalClient, key func(int) string, n int) error {
	if n == 0 {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = key(i)
	}
	// One DEL per key: chunk keys share a slot, but DEL of many keys in a
	// pipeline works on every deployment alike.
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	return err
}

// chunkReader streams chunks 0..n-1 back, one GET at a time.
type chunkReader struct {
	ctx  context.Context
	rdb  redis.UniversalClient
	key  func(int) string
	n    int
	next int
	cur  []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.next >= r.n {
			return 0, io.EOF
		}
		b, err := r.rdb.Get(r.ctx, r.key(r.next)).Bytes()
		if errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("transfer: chunk %d of the file has expired or was deleted; upload the file again: %w", r.next, ErrBadFile)
		}
		if err != nil {
			return 0, fmt.Errorf("transfer: read file chunk %d: %w", r.next, err)
		}
		r.next++
		r.cur = b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
