package dialogs

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, wrapped with details. The HTTP layer and gatewayd -check
// map them with errors.Is, so their meaning must not change.
var (
	// ErrInvalidScript means a script folder was refused; the error is a
	// Problems value listing every problem with file and line.
	ErrInvalidScript = errors.New("invalid dialog script")
	// ErrInvalidInbound means Handle was given an inbound it cannot act on
	// (for example no contact id); nothing was read or written.
	ErrInvalidInbound = errors.New("invalid inbound for dialogs")
	// ErrBusy means another worker held the contact's session for longer
	// than Options.BusyWait; nothing changed and retrying is safe.
	ErrBusy = errors.New("dialog session busy")
	// ErrConflict means the contact's session lock expired while a step ran
	// (a very slow action) and another worker took over; the step's actions
	// may have run, carrying idempotency keys, and the step was not saved.
	ErrConflict = errors.New("dialog session lock lost")
	// ErrRuntime means a script could not go on (its version is gone, it
	// ran too many steps without waiting); the session was ended so the
	// contact is never stuck.
	ErrRuntime = errors.New("dialog script failed")
	// ErrAction means an action (tag, send, coupon, ...) failed; the
	// session was ended after it and the Outcome still lists what was done.
	ErrAction = errors.New("dialog action failed")
	// ErrVersionReused means a reloaded library holds a script whose
	// content changed while its version stayed the same; sessions already
	// running that version would change under the customer's feet.
	ErrVersionReused = errors.New("dialog script changed without a new version")
)

// Problem is one reason a script was refused, placed in its file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.File + ": " + p.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// Problems lists every problem of a load at once, so an operator fixes a
// folder in one pass instead of one error per run of gatewayd -check.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem", ErrInvalidScript.Error(), len(ps))
	if len(ps) != 1 {
		b.WriteByte('s')
	}
	for _, p := range ps {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidScript) hold.
func (ps Problems) Unwrap() error { return ErrInvalidScript }
