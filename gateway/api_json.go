package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the body strictly into v: one JSON value, no unknown
// fields, with messages that point at the offending byte or field.
func bindJSON(c *gin.Context, v any) bool {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value in the body")
	}
	if err == nil {
		return true
	}
	var (
		maxBytes *http.MaxBytesError
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxBytes):
		fail(c, err)
	case errors.Is(err, io.EOF):
		fail(c, newError(KindInvalidJSON, "the body is empty"))
	case errors.As(err, &syntax):
		fail(c, newError(KindInvalidJSON, "invalid JSON at byte %d: %v", syntax.Offset, syntax))
	case errors.As(err, &typeErr):
		fail(c, newError(KindInvalidField, "field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		fail(c, newError(KindInvalidField, "%s is not accepted here", strings.TrimPrefix(err.Error(), "json: ")))
	default:
		fail(c, newError(KindInvalidJSON, "%v", err))
	}
	return false
}

func invalidField(field, format string, args ...any) *Error {
	return newError(KindInvalidField, "%s: %s", field, fmt.Sprintf(format, args...))
}

// queryLimit reads ?limit=, 1..most, def when absent.
func queryLimit(c *gin.Context, def, most int) (int, bool) {
	v := c.Query("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		fail(c, invalidField("limit", "%q must be a number from 1 to %d", v, most))
		return 0, false
	}
	return n, true
}
