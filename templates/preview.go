package templates

import "github.com/journeygate/gateway/channels"

// PreviewResult is one channel of a preview: its message or why it cannot
// be rendered.
type PreviewResult struct {
	Channel  channels.Channel `json:"channel"`
	Rendered *Rendered        `json:"rendered,omitempty"`
	Error    string           `json:"error,omitempty"`
	Err      error            `json:"-"`
}

// Preview renders every channel the template has, in routing order, and
// reports each channel's failure next to the others' results, so an
// editor sees all problems with the sample data at once.
func (r *Renderer) Preview(t Template, data map[string]any) []PreviewResult {
	order := t.ChannelOrder()
	res := make([]PreviewResult, 0, len(order))
	for _, ch := range order {
		out, err := r.Render(t, ch, data)
		if err != nil {
			res = append(res, PreviewResult{Channel: ch, Error: err.Error(), Err: err})
			continue
		}
		res = append(res, PreviewResult{Channel: ch, Rendered: &out})
	}
	return res
}
