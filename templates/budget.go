package templates

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// budget is the step allowance and deadline of one render. Only the
// goroutine running that render touches it.
type budget struct {
	used, max int
	timeout   time.Duration
	deadline  time.Time
	now       func() time.Time
}

// budgetError is what a render over its step budget fails with.
type budgetError struct{ max int }

func (e *budgetError) Error() string {
	return "the template needs more than " + strconv.Itoa(e.max) +
		" steps (a loop over too many items, or loops inside loops); loop over fewer items"
}

// timeoutError is what a render past its deadline fails with. Steps
// assume each costs about the same; the deadline catches the rest, such
// as comparing very long strings in a loop.
type timeoutError struct{ limit time.Duration }

func (e *timeoutError) Error() string {
	return "rendering took longer than " + e.limit.String() + "; loop over fewer items or use shorter variables"
}

func (b *budget) charge(n int) error {
	if n < 0 || n > b.max-b.used {
		b.used = b.max
		return &budgetError{max: b.max}
	}
	b.used += n
	return b.check()
}

func (b *budget) check() error {
	if b.now().After(b.deadline) {
		return &timeoutError{limit: b.timeout}
	}
	return nil
}

// budgetOf finds the budget of the render whose data root is root. Every
// guarded function receives $ first, which is always the root: assigning
// to $ is refused at parse time.
func (r *Renderer) budgetOf(root any) (*budget, error) {
	rv := reflect.ValueOf(root)
	if rv.Kind() == reflect.Map {
		if b, ok := r.runs.Load(rv.Pointer()); ok {
			return b.(*budget), nil
		}
	}
	return nil, errors.New("no render in progress for this data")
}

func (r *Renderer) charge(root any, n int) error {
	b, err := r.budgetOf(root)
	if err != nil {
		return err
	}
	return b.charge(n)
}

// rangeGuard ends every range pipeline: it lets only lists and maps
// through and charges the whole loop (items × body, or the else branch
// when empty) before a single iteration runs.
func (r *Renderer) rangeGuard(root any, body, alt int, v any) (any, error) {
	b, err := r.budgetOf(root)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, b.charge(1 + alt)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
	default:
		return nil, fmt.Errorf("range needs a list or a map from the data, got %s", describe(v))
	}
	n := rv.Len()
	if n == 0 {
		return v, b.charge(1 + alt)
	}
	if body < 1 {
		body = 1
	}
	if n > b.max/body {
		return nil, b.charge(b.max + 1)
	}
	return v, b.charge(1 + n*body)
}

// tick runs at the start of every loop iteration.
func (r *Renderer) tick(root any) (string, error) {
	b, err := r.budgetOf(root)
	if err != nil {
		return "", err
	}
	return "", b.check()
}
