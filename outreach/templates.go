package outreach

import (
	"context"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/templates"
)

// Loader is a Renderer that can read a template once for all of one
// message's channels. The worker prefers it: a message then costs one
// template read, however many channels routing tries, and its order and
// every body come from the same version.
type Loader interface {
	Load(ctx context.Context, template string) (Loaded, error)
}

// Loaded is one read of a template: its routing order, and its bodies
// rendered from memory.
type Loaded interface {
	Order() []channels.Channel
	Render(ch channels.Channel, data map[string]any) (Content, error)
}

// TemplateRenderer renders stored templates for the pipeline: the current
// version at send time, so a published edit reaches the next messages.
// Parsed bodies are cached by version in the templates.Renderer, so a send
// reads the template record and never recompiles it.
type TemplateRenderer struct {
	Store    *templates.Store
	Renderer *templates.Renderer
}

var (
	_ Renderer = TemplateRenderer{}
	_ Loader   = TemplateRenderer{}
)

func (r TemplateRenderer) Order(ctx context.Context, id string) ([]channels.Channel, error) {
	t, err := r.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return t.ChannelOrder(), nil
}

func (r TemplateRenderer) Render(ctx context.Context, id string, ch channels.Channel, data map[string]any) (Content, error) {
	t, err := r.Store.Get(ctx, id)
	if err != nil {
		return Content{}, err
	}
	return loadedTemplate{t: t, r: r.Renderer}.Render(ch, data)
}

// Load reads the template's published version once.
func (r TemplateRenderer) Load(ctx context.Context, id string) (Loaded, error) {
	t, err := r.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return loadedTemplate{t: t, r: r.Renderer}, nil
}

type loadedTemplate struct {
	t templates.Template
	r *templates.Renderer
}

func (l loadedTemplate) Order() []channels.Channel { return l.t.ChannelOrder() }

func (l loadedTemplate) Render(ch channels.Channel, data map[string]any) (Content, error) {
	out, err := l.r.Render(l.t, ch, data)
	if err != nil {
		return Content{}, err
	}
	c := Content{Version: out.Version, Text: out.Text, Title: out.Title, URL: out.URL,
		TemplateID: out.TemplateID, Fields: out.Fields, TemplateCode: out.TemplateCode, Params: out.Params,
		Subject: out.Subject, HTML: out.HTML}
	if ch == channels.Email {
		c.Text = out.TextBody
	}
	return c, nil
}

// messageTemplate is the template of one message as the worker uses it:
// read at most once, through a Loader when the renderer is one. A failed
// read answers every later call with its error, as separate reads would.
type messageTemplate struct {
	render Renderer
	id     string
	loaded Loaded
	err    error
}

// templateOf prepares m's template; a literal text message has none.
func (p *Pipeline) templateOf(ctx context.Context, m *Message) *messageTemplate {
	mt := &messageTemplate{render: p.render, id: m.Template}
	if l, ok := p.render.(Loader); ok && m.Text == "" {
		mt.loaded, mt.err = l.Load(ctx, m.Template)
	}
	return mt
}

func (mt *messageTemplate) order(ctx context.Context) ([]channels.Channel, error) {
	switch {
	case mt.err != nil:
		return nil, mt.err
	case mt.loaded != nil:
		return mt.loaded.Order(), nil
	}
	return mt.render.Order(ctx, mt.id)
}

func (mt *messageTemplate) content(ctx context.Context, ch channels.Channel, data map[string]any) (Content, error) {
	switch {
	case mt.err != nil:
		return Content{}, mt.err
	case mt.loaded != nil:
		return mt.loaded.Render(ch, data)
	}
	return mt.render.Render(ctx, mt.id, ch, data)
}
