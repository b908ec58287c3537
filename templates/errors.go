package templates

import (
	"errors"
	"strings"
)

// Sentinel errors, wrapped with details. The HTTP layer maps them with
// errors.Is to stable codes, so their meaning must not change.
var (
	// ErrNotFound means no template (or no such version of it) is stored.
	ErrNotFound = errors.New("template not found")
	// ErrInvalid means a template was refused before anything was written;
	// the message names each field path (e.g. channels.sms.params.name) and
	// what it must look like. The error is an *InvalidError.
	ErrInvalid = errors.New("invalid template")
	// ErrRender means a stored template could not be rendered with the data
	// given: a missing variable, an output over the channel's limit, a loop
	// over the work budget. The message names the field path.
	ErrRender = errors.New("template cannot be rendered")
	// ErrNotPublished means the template exists but only as drafts, so
	// there is nothing sends may use yet; publish a version first.
	ErrNotPublished = errors.New("template has no published version")
	// ErrNoChannel means the template has no body for the channel asked
	// for; routing should move on to the next channel.
	ErrNoChannel = errors.New("template has no body for this channel")
)

// Problem is one reason a template was refused.
type Problem struct {
	// Path names the field, e.g. "channels.sms.template_code".
	Path    string `json:"path"`
	Message string `json:"message"`
}

// InvalidError lists every problem found in a template at once, so an
// editor (or gatewayd -check) can show them all instead of one per attempt.
type InvalidError struct {
	Problems []Problem
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalid.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Path)
		b.WriteString(": ")
		b.WriteString(p.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalid }
