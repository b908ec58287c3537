package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const maxBody = 1 << 20 // platforms refuse far smaller bodies; this only bounds memory

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return b, nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// hang holds a request open until the client gives up or the sandbox closes,
// the way an overloaded platform does; the cap keeps goroutines bounded.
func (s *sandbox) hang(r *http.Request) {
	t := time.NewTimer(5 * time.Minute)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-s.ctx.Done():
	case <-t.C:
	}
}

// applyFault injects the configured fault for one send; true means the
// response is written and the handler must stop. flow writes the platform's
// own rate-limit answer; unavailable, when not nil, its own 5xx answer.
func (s *sandbox) applyFault(w http.ResponseWriter, r *http.Request, channel string, flow, unavailable func()) bool {
	switch s.faults.take(channel) {
	case fault5xx:
		if unavailable != nil {
			unavailable()
			return true
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n")
		return true
	case faultHang:
		s.hang(r)
		return true
	case faultFlowControl:
		flow()
		return true
	}
	return false
}
