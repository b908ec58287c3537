package outreach

import (
	"context"

	"github.com/journeygate/gateway/channels"
	"github.com/journeygate/gateway/templates"
)

// TemplateRenderer renders stored templates for the pipeline: the current
// version at send time, so a published edit reaches the next messages.
type TemplateRenderer struct {
	Store    *templates.Store
	Renderer *templates.Renderer
}

var _ Renderer = TemplateRenderer{}

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
	out, err := r.Renderer.Render(t, ch, data)
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
