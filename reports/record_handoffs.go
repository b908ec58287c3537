package reports

import (
	"context"
	"strconv"
	"time"
)

// Hand-off statistics per rep and day.
const (
	statReceived   = "received"
	statFollowedUp = "followed_up"
	statBreached   = "breached"
)

// HandoffOpened counts a lead handed to rep (it satisfies
// outreach.HandoffObserver with the two methods below).
func (r *Reports) HandoffOpened(ctx context.Context, rep, contactID string, at time.Time) error {
	b := newBatch()
	r.handoffOpened(b, rep, at)
	return r.flush(ctx, b)
}

// HandoffFollowedUp counts a follow-up on its day, with the time since the
// hand-off in the rep's follow-up histogram.
func (r *Reports) HandoffFollowedUp(ctx context.Context, rep, contactID string, opened, at time.Time) error {
	b := newBatch()
	r.handoffFollowedUp(b, rep, opened, at)
	return r.flush(ctx, b)
}

// HandoffBreached counts a hand-off not followed up within the SLA, on the
// day the SLA ran out.
func (r *Reports) HandoffBreached(ctx context.Context, rep, contactID string, at time.Time) error {
	b := newBatch()
	r.handoffBreached(b, rep, at)
	return r.flush(ctx, b)
}

func (r *Reports) handoffOpened(b *batch, rep string, at time.Time) {
	b.add(handoffDayKey(r.day(at)), cleanLabel(rep)+"|"+statReceived, 1)
}

func (r *Reports) handoffFollowedUp(b *batch, rep string, opened, at time.Time) {
	key, rep := handoffDayKey(r.day(at)), cleanLabel(rep)
	b.add(key, rep+"|"+statFollowedUp, 1)
	if !opened.IsZero() && !at.Before(opened) {
		b.add(key, rep+"|fu|"+strconv.Itoa(bucketOf(at.Sub(opened))), 1)
	}
}

func (r *Reports) handoffBreached(b *batch, rep string, at time.Time) {
	b.add(handoffDayKey(r.day(at)), cleanLabel(rep)+"|"+statBreached, 1)
}
