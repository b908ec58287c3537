package main

import (
	"fmt"
	"sync"
)

// Fault modes the control API accepts.
const (
	faultNone        = "none"
	fault5xx         = "5xx"
	faultHang        = "hang"
	faultFlowControl = "flow_control"
)

// fault makes the next Count sends of a channel fail in one way; Count 0
// keeps failing until the mode is set back to none.
type fault struct {
	Mode  string `json:"mode"`
	Count int    `json:"count"`
}

type faults struct {
	mu sync.Mutex
	m  map[string]*fault
}

func newFaults() *faults { return &faults{m: map[string]*fault{}} }

func (f *faults) set(channel, mode string, count int) error {
	known := false
	for _, c := range channelNames {
		known = known || c == channel
	}
	if !known {
		return fmt.Errorf("%w: channel %q; use wecom, officialaccount, sms or email", ErrBadRequest, channel)
	}
	if count < 0 {
		return fmt.Errorf("%w: count %d is negative; use 0 for until cleared", ErrBadRequest, count)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch mode {
	case faultNone, "":
		delete(f.m, channel)
	case fault5xx, faultHang, faultFlowControl:
		f.m[channel] = &fault{Mode: mode, Count: count}
	default:
		return fmt.Errorf("%w: mode %q; use 5xx, hang, flow_control or none", ErrBadRequest, mode)
	}
	return nil
}

// take returns the fault to apply to one send on channel, or "" for none.
func (f *faults) take(channel string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := f.m[channel]
	if ft == nil {
		return ""
	}
	if ft.Count > 0 {
		ft.Count--
		if ft.Count == 0 {
			delete(f.m, channel)
		}
	}
	return ft.Mode
}

func (f *faults) snapshot() map[string]fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]fault{}
	for c, ft := range f.m {
		out[c] = *ft
	}
	return out
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m = map[string]*fault{}
}
