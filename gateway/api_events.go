package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/channels/sms"
)

// eventRequest is POST /api/v1/events: a fact about a customer from an
// operator's system (a web form, the shop, a webinar tool).
type eventRequest struct {
	Contact map[string]string `json:"contact"`
	Type    string            `json:"type"`
	Props   map[string]any    `json:"props"`
	ID      string            `json:"id"`
	At      *time.Time        `json:"at"`
}

var eventTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

const (
	maxProps        = 50
	maxPropValueLen = 2000
)

func (s *Server) postEvent(c *gin.Context) {
	var req eventRequest
	if !bindJSON(c, &req) {
		return
	}
	ev, err := s.eventFromRequest(req)
	if err != nil {
		fail(c, err)
		return
	}
	outcome, err := s.ingest(c.Request.Context(), ev)
	s.metrics.callbacks.WithLabelValues(string(channels.API), outcome).Inc()
	if err != nil {
		fail(c, err)
		return
	}
	id, err := s.contacts.Lookup(c.Request.Context(), identityOf(ev.Contact[0]))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"contact_id": id, "duplicate": outcome == outcomeDuplicate})
}

func (s *Server) eventFromRequest(req eventRequest) (channels.Event, error) {
	ids, err := identitiesFrom(req.Contact)
	if err != nil {
		return channels.Event{}, err
	}
	if !eventTypePattern.MatchString(req.Type) {
		return channels.Event{}, invalidField("type", "%q must be 1-64 lowercase letters, digits or _.:- starting with a letter, e.g. whitepaper_download", req.Type)
	}
	if len(req.ID) > 128 {
		return channels.Event{}, invalidField("id", "at most 128 characters")
	}
	if len(req.Props) > maxProps {
		return channels.Event{}, invalidField("props", "at most %d properties", maxProps)
	}
	props := make(map[string]string, len(req.Props))
	for k, v := range req.Props {
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case nil:
			continue
		default:
			b, _ := json.Marshal(v)
			text = string(b)
		}
		if len(k) == 0 || len(k) > 64 || len(text) > maxPropValueLen {
			return channels.Event{}, invalidField("props."+k, "keys are 1-64 characters and values at most %d", maxPropValueLen)
		}
		props[k] = text
	}
	at := s.now()
	if req.At != nil {
		if req.At.After(at.Add(s.cfg.Callbacks.MaxSkew)) {
			return channels.Event{}, invalidField("at", "%s is in the future; give when the event happened", req.At.Format(time.RFC3339))
		}
		at = *req.At
	}
	if err := validateOrderPaid(req.Type, props); err != nil {
		return channels.Event{}, err
	}
	ev := channels.Event{Source: channels.API, Type: req.Type, At: at, Contact: ids, Props: props}
	if req.ID != "" {
		ev.ID = "api:" + req.ID
	}
	return ev, nil
}

// contactKeys are the identity keys the API accepts, most specific first:
// the first one present becomes the contact's home when it is new.
var contactKeys = []channels.IdentityKind{channels.ExternalUserID, channels.UnionID, channels.OpenID, channels.Phone, channels.EmailAddress}

func identitiesFrom(m map[string]string) ([]channels.Identity, error) {
	if len(m) == 0 {
		return nil, invalidField("contact", `give at least one of "phone", "email", "openid", "unionid", "external_userid"`)
	}
	known := map[string]bool{}
	var ids []channels.Identity
	for _, kind := range contactKeys {
		known[string(kind)] = true
		v, ok := m[string(kind)]
		if !ok {
			continue
		}
		norm, err := normalizeIdentity(kind, v)
		if err != nil {
			return nil, err
		}
		ids = append(ids, channels.Identity{Kind: kind, Value: norm})
	}
	for k := range m {
		if !known[k] {
			return nil, invalidField("contact."+k, `unknown identity; use "phone", "email", "openid", "unionid" or "external_userid"`)
		}
	}
	return ids, nil
}

func normalizeIdentity(kind channels.IdentityKind, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", invalidField("contact."+string(kind), "must not be empty")
	case len(v) > 128:
		return "", invalidField("contact."+string(kind), "at most 128 characters")
	}
	switch kind {
	case channels.Phone:
		p, err := sms.NormalizePhone(v)
		if err != nil {
			return "", fmt.Errorf("contact.phone: %w", err)
		}
		return p, nil
	case channels.EmailAddress:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Name != "" {
			return "", invalidField("contact.email", "%q is not a plain address like name@example.com", v)
		}
		return strings.ToLower(a.Address), nil
	}
	return v, nil
}
