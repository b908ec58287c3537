package templates

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/journeygate/gateway/channels"
)

// Defaults for RenderOptions.
const (
	// DefaultMaxSteps allows, for example, a 100-item order list whose row
	// has 50 nodes, ten times over; a template that uses it all renders in
	// about 20 ms on one core.
	DefaultMaxSteps = 50_000
	// DefaultTimeout is a backstop well above any render the step budget
	// admits (tens of milliseconds at worst), so a busy worker never fails
	// a sound template for having been scheduled out.
	DefaultTimeout   = 500 * time.Millisecond
	DefaultMaxCached = 4096
)

// RenderOptions tune a Renderer. The zero value gives the defaults.
type RenderOptions struct {
	// MaxSteps is each render's work budget: a loop costs its items times
	// the nodes of its body, a string function one step per 64 bytes.
	MaxSteps int
	// Timeout bounds each render's wall time (default 500 ms). It is
	// checked whenever a loop iterates and a function runs, and stops loops
	// whose steps cost more than the budget assumes (comparing or escaping
	// very long strings on every pass); loop-free work is bounded by the
	// template's and the data's size. Keep it well above the budget's
	// worst case: under load a render's wall time stretches.
	Timeout time.Duration
	// Now is the clock the timeout is measured with (default time.Now).
	Now func() time.Time
	// Location is the time zone date formats in (default UTC+8, China
	// Standard Time, which has no daylight saving).
	Location *time.Location
	// MaxCached bounds how many parsed channel bodies are kept; past it the
	// cache starts over (default 4096).
	MaxCached int
}

// Renderer renders templates. It keeps each saved version's parsed bodies,
// so a template is parsed once per version however many messages use it.
// It is safe for concurrent use.
type Renderer struct {
	opt    RenderOptions
	funcs  map[string]any
	cache  sync.Map // cacheKey -> *cacheEntry
	cached atomic.Int64
	runs   sync.Map // data root map pointer -> *budget of the render using it
}

// NewRenderer checks opts and fills its defaults.
func NewRenderer(opts RenderOptions) (*Renderer, error) {
	switch {
	case opts.MaxSteps < 0:
		return nil, fmt.Errorf("templates: MaxSteps is %d; use 0 for the default %d or a positive budget", opts.MaxSteps, DefaultMaxSteps)
	case opts.MaxSteps == 0:
		opts.MaxSteps = DefaultMaxSteps
	}
	switch {
	case opts.Timeout < 0:
		return nil, fmt.Errorf("templates: Timeout is %v; use 0 for the default %v or a positive duration", opts.Timeout, DefaultTimeout)
	case opts.Timeout == 0:
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	switch {
	case opts.MaxCached < 0:
		return nil, fmt.Errorf("templates: MaxCached is %d; use 0 for the default %d or a positive bound", opts.MaxCached, DefaultMaxCached)
	case opts.MaxCached == 0:
		opts.MaxCached = DefaultMaxCached
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("CST", 8*3600)
	}
	r := &Renderer{opt: opts}
	r.funcs = r.funcMap()
	return r, nil
}

// Rendered is one channel's message with every template field filled in.
// TemplateID and TemplateCode are copied from the body unchanged.
type Rendered struct {
	Channel  channels.Channel `json:"channel"`
	Template string           `json:"template"` // the template's id
	Version  int              `json:"version"`  // recorded with the message
	// Locale and Variant name the alternate bodies used; empty for the
	// main body.
	Locale  string `json:"locale,omitempty"`
	Variant string `json:"variant,omitempty"`

	Text  string `json:"text,omitempty"`  // WeCom, official account
	Title string `json:"title,omitempty"` // WeCom text card
	URL   string `json:"url,omitempty"`   // WeCom text card, official account

	TemplateID string            `json:"template_id,omitempty"` // official-account template message
	Fields     map[string]string `json:"fields,omitempty"`

	TemplateCode string            `json:"template_code,omitempty"` // Aliyun SMS
	Params       map[string]string `json:"params,omitempty"`

	Subject  string `json:"subject,omitempty"` // email
	HTML     string `json:"html,omitempty"`
	TextBody string `json:"text_body,omitempty"`
}

// Render fills the template's body for ch with data (the message's vars
// merged with the contact's fields); declared defaults fill variables the
// data lacks. Failures wrap ErrNoChannel or ErrRender and name the field.
func (r *Renderer) Render(t Template, ch channels.Channel, data map[string]any) (Rendered, error) {
	data = withDefaults(t.Vars, data)
	t, alt := t.resolve(choose(data))
	out, err := r.render(&t, ch, data, alt)
	if err != nil && alt != (choice{}) {
		return Rendered{}, fmt.Errorf("%w (%s)", err, alt)
	}
	out.Locale, out.Variant = alt.locale, alt.variant
	return out, err
}

func (r *Renderer) render(t *Template, ch channels.Channel, data map[string]any, alt choice) (Rendered, error) {
	specs, ok := bodyFields(t, ch)
	if !ok {
		return Rendered{}, fmt.Errorf("%w: template %q has no %s body", ErrNoChannel, t.ID, ch)
	}
	progs, err := r.programs(t, ch, specs, alt.key())
	if err != nil {
		return Rendered{}, err
	}
	root, err := normalizeVars(data)
	if err != nil {
		return Rendered{}, fmt.Errorf("%w: %w", ErrRender, err)
	}
	key := reflect.ValueOf(root).Pointer()
	r.runs.Store(key, &budget{max: r.opt.MaxSteps, timeout: r.opt.Timeout,
		deadline: r.opt.Now().Add(r.opt.Timeout), now: r.opt.Now})
	defer r.runs.Delete(key)

	out := Rendered{Channel: ch, Template: t.ID, Version: t.Version}
	for i := range specs {
		s, err := r.execute(progs[i], &specs[i], root)
		if err != nil {
			return Rendered{}, err
		}
		out.set(&specs[i], s)
	}
	switch ch {
	case channels.OfficialAccount:
		out.TemplateID = t.Channels.OfficialAccount.TemplateID
	case channels.SMS:
		out.TemplateCode = t.Channels.SMS.TemplateCode
		if out.Params == nil {
			out.Params = map[string]string{}
		}
	case channels.Email:
		if strings.TrimSpace(out.HTML) == "" && strings.TrimSpace(out.TextBody) == "" {
			return Rendered{}, fmt.Errorf("%w: channels.email: both html and text render empty; an email needs a body", ErrRender)
		}
	}
	return out, nil
}

func (out *Rendered) set(f *fieldSpec, s string) {
	switch f.role {
	case roleText:
		out.Text = s
	case roleTitle:
		out.Title = s
	case roleURL:
		out.URL = s
	case roleField:
		if out.Fields == nil {
			out.Fields = map[string]string{}
		}
		out.Fields[f.key] = s
	case roleParam:
		if out.Params == nil {
			out.Params = map[string]string{}
		}
		out.Params[f.key] = s
	case roleSubject:
		out.Subject = s
	case roleHTML:
		out.HTML = s
	case roleTextBody:
		out.TextBody = s
	}
}
