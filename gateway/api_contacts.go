package gateway

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/contacts"
)

func identityOf(id channels.Identity) contacts.Identity {
	return contacts.Identity{Kind: string(id.Kind), Value: id.Value}
}

// lookupContact finds a contact by the id a platform knows it by:
// ?channel=wecom|officialaccount|sms|email&id=..., or ?kind=unionid&id=...
func (s *Server) lookupContact(c *gin.Context) {
	var kind channels.IdentityKind
	switch ch, k := c.Query("channel"), c.Query("kind"); {
	case ch != "":
		var ok bool
		if kind, ok = channels.KindFor(channels.Channel(ch)); !ok {
			fail(c, invalidField("channel", "%q must be wecom, officialaccount, sms or email", ch))
			return
		}
	case k != "":
		kind = channels.IdentityKind(k)
		if !slices.Contains(contactKeys, kind) {
			fail(c, invalidField("kind", "%q must be phone, email, openid, unionid or external_userid", k))
			return
		}
	default:
		fail(c, invalidField("channel", "give ?channel= (wecom, officialaccount, sms, email) or ?kind= and ?id="))
		return
	}
	value, err := normalizeIdentity(kind, c.Query("id"))
	if err != nil {
		fail(c, err)
		return
	}
	id, err := s.contacts.Lookup(c.Request.Context(), contacts.Identity{Kind: string(kind), Value: value})
	if err != nil {
		fail(c, err)
		return
	}
	s.respondContact(c, id)
}

func (s *Server) getContact(c *gin.Context) { s.respondContact(c, c.Param("id")) }

func (s *Server) respondContact(c *gin.Context, id string) {
	ct, err := s.contacts.Get(c.Request.Context(), id)
	if err != nil {
		fail(c, err)
		return
	}
	if !mayReach(c, ct) {
		return
	}
	c.JSON(http.StatusOK, ct)
}

func (s *Server) getTimeline(c *gin.Context) {
	limit, ok := queryLimit(c, 50, 1000)
	if !ok {
		return
	}
	ct, ok := s.reachableContact(c)
	if !ok {
		return
	}
	entries, err := s.contacts.Timeline(c.Request.Context(), ct.ID, limit)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"contact_id": ct.ID, "entries": entries})
}

type tagsRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

const maxTagsPerCall = 50

func (s *Server) changeTags(c *gin.Context) {
	var req tagsRequest
	if !bindJSON(c, &req) {
		return
	}
	if len(req.Add)+len(req.Remove) == 0 {
		fail(c, invalidField("add", `give tags to "add" and/or "remove"`))
		return
	}
	if len(req.Add)+len(req.Remove) > maxTagsPerCall {
		fail(c, invalidField("add", "at most %d tags per call", maxTagsPerCall))
		return
	}
	for _, t := range append(append([]string{}, req.Add...), req.Remove...) {
		if err := checkTag(t); err != nil {
			fail(c, err)
			return
		}
	}
	s.changeContact(c, contacts.Change{AddTags: req.Add, RemoveTags: req.Remove,
		Timeline: &contacts.Entry{Type: "tags_changed", Source: "api", Props: tagProps(req)}})
}

func checkTag(t string) error {
	if t == "" || utf8.RuneCountInString(t) > 64 || strings.ContainsAny(t, ",\n\r\t") {
		return invalidField("tags", "%q: a tag is 1-64 characters without commas, tabs or newlines", t)
	}
	return nil
}

func tagProps(req tagsRequest) map[string]string {
	p := map[string]string{}
	if len(req.Add) > 0 {
		p["added"] = strings.Join(req.Add, ",")
	}
	if len(req.Remove) > 0 {
		p["removed"] = strings.Join(req.Remove, ",")
	}
	return p
}

type consentRequest struct {
	Channel string `json:"channel"`
	Status  string `json:"status"`
	Source  string `json:"source"`
}

func (s *Server) putConsent(c *gin.Context) {
	var req consentRequest
	if !bindJSON(c, &req) {
		return
	}
	if _, ok := channels.KindFor(channels.Channel(req.Channel)); !ok {
		fail(c, invalidField("channel", "%q must be wecom, officialaccount, sms or email", req.Channel))
		return
	}
	if req.Status != "opted_in" && req.Status != "opted_out" {
		fail(c, invalidField("status", "%q must be opted_in or opted_out", req.Status))
		return
	}
	if src := strings.TrimSpace(req.Source); src == "" || utf8.RuneCountInString(src) > 200 {
		fail(c, invalidField("source", "say where the consent came from in 1-200 characters, e.g. web form 2026-11-01"))
		return
	}
	// The store records every consent change on the timeline with its source.
	s.changeContact(c, contacts.Change{
		Consent: []contacts.ConsentChange{{Channel: req.Channel, Status: req.Status, Source: strings.TrimSpace(req.Source)}},
	})
}

// changeContact applies an operator's change to the contact named in the
// path, addressing it through one of its identities, and answers with the
// contact as it now is.
func (s *Server) changeContact(c *gin.Context, ch contacts.Change) {
	ct, err := s.contacts.Get(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	id, ok := anyIdentity(ct)
	if !ok {
		fail(c, newError(KindInternal, "contact %s has no identity", ct.ID))
		return
	}
	ch.Identities = []contacts.Identity{id}
	ch.At = s.now()
	if ch.Timeline != nil {
		ch.Timeline.At = ch.At
	}
	res, err := s.contacts.Apply(c.Request.Context(), ch)
	if err != nil {
		fail(c, err)
		return
	}
	if len(res.TagsAdded)+len(res.TagsRemoved) > 0 {
		// Reps see the change on the customer's WeCom profile; a queueing
		// failure leaves our tags right and is only logged.
		if err := s.tagMirror.Mirror(c.Request.Context(), ct, res.TagsAdded, res.TagsRemoved); err != nil {
			s.log.Warn("WeCom tag mirror not queued", zap.String("contact", ct.ID), zap.Error(err))
		}
	}
	s.respondContact(c, ct.ID)
}

func anyIdentity(ct *contacts.Contact) (contacts.Identity, bool) {
	kinds := make([]string, 0, len(ct.Identities))
	for k := range ct.Identities {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if vals := ct.Identities[k]; len(vals) > 0 {
			return contacts.Identity{Kind: k, Value: vals[0]}, true
		}
	}
	return contacts.Identity{}, false
}
