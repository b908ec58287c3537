package contacts

import "context"

// Export is everything the contacts store holds about one person, for an
// access request under PIPL or GDPR: the contact with its identities, tags,
// consent and consent sources, fields and score, and its whole timeline.
type Export struct {
	Contact  *Contact     `json:"contact"`
	Timeline []Entry      `json:"timeline"`
	ScoreLog []ScoreEntry `json:"score_log"`
}

// Export reads contact id (or the contact it was merged into) with its
// complete timeline and score log.
func (s *Store) Export(ctx context.Context, id string) (*Export, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	tl, err := s.Timeline(ctx, c.ID, 0)
	if err != nil {
		return nil, err
	}
	if tl == nil {
		tl = []Entry{}
	}
	sl, err := s.ScoreLog(ctx, c.ID, 0)
	if err != nil {
		return nil, err
	}
	if sl == nil {
		sl = []ScoreEntry{}
	}
	return &Export{Contact: c, Timeline: tl, ScoreLog: sl}, nil
}
