package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// The control API on the UI port: what the stand-ins received, fault
// injection, and the customer play that drives callbacks into the gateway.

func (s *sandbox) uiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /api/messages", s.apiMessages)
	mux.HandleFunc("DELETE /api/messages", s.apiReset)
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.store.stats()) })
	mux.HandleFunc("GET /api/callbacks", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.callbackLog()) })
	mux.HandleFunc("GET /api/faults", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.faults.snapshot()) })
	mux.HandleFunc("POST /api/faults", s.apiFaults)
	mux.HandleFunc("POST /api/tokens/expire", s.apiExpireTokens)
	mux.HandleFunc("GET /api/wecom/tags", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.tagsOf(r.URL.Query().Get("external_userid")))
	})
	mux.HandleFunc("POST /api/play/officialaccount", playHandler(s, s.playOfficialAccount))
	mux.HandleFunc("POST /api/play/wecom", playHandler(s, s.playWeCom))
	mux.HandleFunc("POST /api/play/kf", playHandler(s, s.playKF))
	mux.HandleFunc("POST /api/play/officialaccount/verify", func(w http.ResponseWriter, _ *http.Request) { res, err := s.verifyOA(); s.writePlay(w, res, err) })
	mux.HandleFunc("POST /api/play/wecom/verify", func(w http.ResponseWriter, _ *http.Request) { res, err := s.verifyWeCom(); s.writePlay(w, res, err) })
	mux.HandleFunc("POST /api/play/sms", s.apiPlaySMS)
	return mux
}

// apiError maps the sandbox's sentinel errors to HTTP statuses.
func apiError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, ErrConfig):
		status = http.StatusConflict
	case errors.Is(err, ErrGateway):
		status = http.StatusBadGateway
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func decodeControl(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: body is not the expected JSON: %w", ErrBadRequest, err)
	}
	return nil
}

func playHandler[P any](s *sandbox, play func(P) (playResult, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var p P
		if err := decodeControl(r, &p); err != nil {
			apiError(w, err)
			return
		}
		res, err := play(p)
		s.writePlay(w, res, err)
	}
}

// writePlay answers a play; on a gateway failure it still shows what was sent and received.
func (s *sandbox) writePlay(w http.ResponseWriter, res playResult, err error) {
	if err != nil {
		status := http.StatusBadGateway
		if !errors.Is(err, ErrGateway) {
			apiError(w, err)
			return
		}
		writeJSON(w, status, map[string]any{"error": err.Error(), "result": res})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *sandbox) apiMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ch := q.Get("channel")
	if ch != "" {
		known := false
		for _, c := range channelNames {
			known = known || c == ch
		}
		if !known {
			apiError(w, fmt.Errorf("%w: channel must be wecom, officialaccount, sms or email", ErrBadRequest))
			return
		}
	}
	limit := 0
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			apiError(w, fmt.Errorf("%w: limit must be a non-negative integer", ErrBadRequest))
			return
		}
		limit = n
	}
	api := q.Get("api") // e.g. kf/send_msg: the replies 微信客服 customers got
	if api == "" {
		writeJSON(w, http.StatusOK, s.store.list(ch, q.Get("to"), limit))
		return
	}
	list := []message{}
	for _, m := range s.store.list(ch, q.Get("to"), 0) {
		if m.API == api {
			list = append(list, m)
		}
	}
	if limit > 0 && len(list) > limit {
		list = list[len(list)-limit:]
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *sandbox) apiReset(w http.ResponseWriter, _ *http.Request) {
	s.resetState()
	w.WriteHeader(http.StatusNoContent)
}

type faultReq struct {
	Channel string `json:"channel"`
	Mode    string `json:"mode"`
	Count   int    `json:"count"`
}

func (s *sandbox) apiFaults(w http.ResponseWriter, r *http.Request) {
	var req faultReq
	if err := decodeControl(r, &req); err != nil {
		apiError(w, err)
		return
	}
	if err := s.faults.set(req.Channel, req.Mode, req.Count); err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.faults.snapshot())
}

func (s *sandbox) apiExpireTokens(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Channel string `json:"channel"`
	}
	if err := decodeControl(r, &req); err != nil {
		apiError(w, err)
		return
	}
	if req.Channel != chWeCom && req.Channel != chOA {
		apiError(w, fmt.Errorf("%w: channel must be wecom or officialaccount", ErrBadRequest))
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"expired": s.expireTokens(req.Channel)})
}

func (s *sandbox) apiPlaySMS(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Phone string `json:"phone"`
		Text  string `json:"text"`
	}
	if err := decodeControl(r, &req); err != nil {
		apiError(w, err)
		return
	}
	rec, err := s.playSMSUp(req.Phone, req.Text)
	if err != nil && !errors.Is(err, ErrGateway) {
		apiError(w, err)
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error(), "callback": rec})
		return
	}
	writeJSON(w, http.StatusOK, rec)
}
