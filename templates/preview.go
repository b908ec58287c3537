package templates

import "github.com/journeygate/gateway/channels"

// PreviewResult is one channel of a preview: its message or why it cannot
// be rendered. SMS is the approved text filled in, with its length and
// segments, when the SMS body carries the text.
type PreviewResult struct {
	Channel  channels.Channel `json:"channel"`
	Rendered *Rendered        `json:"rendered,omitempty"`
	SMS      *SMSInfo         `json:"sms,omitempty"`
	Error    string           `json:"error,omitempty"`
	Err      error            `json:"-"`
}

// PreviewOptions say how a preview differs from a bare render.
type PreviewOptions struct {
	// SMSSign is the signature Aliyun puts in front of every SMS
	// (【sign】); it counts towards the segments.
	SMSSign string
}

// Preview renders every channel the template has, in routing order, and
// reports each channel's failure next to the others' results, so an
// editor sees all problems with the sample data at once.
func (r *Renderer) Preview(t Template, data map[string]any) []PreviewResult {
	return r.PreviewWith(t, data, PreviewOptions{})
}

// PreviewWith is Preview with options. The declared samples fill what data
// lacks, so a template previews with realistic values before any are
// given; data's "locale" and "variant" pick the alternate bodies, as in a
// send.
func (r *Renderer) PreviewWith(t Template, data map[string]any, opt PreviewOptions) []PreviewResult {
	merged := t.Samples()
	for k, v := range data {
		if _, sampled := merged[k]; sampled && missing(v, true) {
			continue // a contact without a name keeps the sample's
		}
		merged[k] = v
	}
	resolved, _ := t.resolve(choose(merged))
	order := t.ChannelOrder()
	res := make([]PreviewResult, 0, len(order))
	for _, ch := range order {
		out, err := r.Render(t, ch, merged)
		if err != nil {
			res = append(res, PreviewResult{Channel: ch, Error: err.Error(), Err: err})
			continue
		}
		pr := PreviewResult{Channel: ch, Rendered: &out}
		if ch == channels.SMS {
			pr.SMS = smsPreview(resolved.Channels.SMS, out.Params, opt.SMSSign)
		}
		res = append(res, pr)
	}
	return res
}
