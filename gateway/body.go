package gateway

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/gin-gonic/gin"
)

var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// withBody reads the (size-limited) request body into a pooled buffer and
// hands it to fn; the slice is only valid during fn.
func withBody(c *gin.Context, fn func(body []byte)) {
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 {
			bodyBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(c.Request.Body); err != nil && !errors.Is(err, io.EOF) {
		fail(c, err)
		return
	}
	fn(buf.Bytes())
}
