package gateway

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
)

// Sweep bounds: one batch is one pipelined round trip of contact scripts; a
// sweep stops after sweepRounds batches and the next one continues.
const (
	sweepBatch  = 500
	sweepRounds = 40
	sweepLease  = 5 * time.Minute
)

// DefaultSilentAfter is how long a contact may go without activity before
// it turns silent, when contacts.silent_after is not set.
const DefaultSilentAfter = 30 * 24 * time.Hour

// Sweep runs the periodic lifecycle work once: contacts without activity
// for contacts.silent_after turn silent (and win-back scripts start),
// scores decay by the scoring rules (and score_band triggers fire when a
// band is left), and hand-offs waiting for a rep on duty are assigned. One
// process at a time does it (a Redis lock); it returns at once when another
// holds the lock. Every step is idempotent, so a crash mid-sweep only
// delays work.
func (s *Server) Sweep(ctx context.Context) error {
	tok := lockToken()
	ok, err := s.rdb.SetNX(ctx, sweepLockKey, tok, sweepLease).Result()
	if err != nil || !ok {
		return err
	}
	defer func() { _ = releaseLock.Run(context.WithoutCancel(ctx), s.rdb, []string{sweepLockKey}, tok).Err() }()

	after := s.cfg.Contacts.SilentAfter
	if after <= 0 {
		after = DefaultSilentAfter
	}
	var errs []error
	for range sweepRounds {
		n, err := s.contacts.SweepSilent(ctx, after, sweepBatch, s.silenced)
		if err != nil {
			errs = append(errs, err)
		}
		if err != nil || n < sweepBatch {
			break
		}
	}
	for range sweepRounds {
		n, err := s.contacts.SweepDecay(ctx, s.scoring, sweepBatch, s.decayed)
		if err != nil {
			errs = append(errs, err)
		}
		if err != nil || n < sweepBatch {
			break
		}
	}
	if s.notifier != nil {
		if err := s.notifier.DrainWaiting(ctx, s.contacts); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// silenced starts the scripts that wait for silent contacts (win-back).
// The inbound id names this silence, so a repeat after a crash is the same
// event to the engine and its actions.
func (s *Server) silenced(ctx context.Context, sl contacts.Silenced) error {
	id := "silent:" + sl.ContactID + ":" + strconv.FormatInt(sl.Since.UnixMilli(), 10)
	return s.startScripts(ctx, sl.ContactID, id, dialogs.TypeActivityChanged,
		map[string]string{"activity": contacts.ActivitySilent}, 0)
}

// decayed raises score_band_changed when decay moved a score into a lower
// band, so score_band triggers fire on the way down too.
func (s *Server) decayed(ctx context.Context, d contacts.Decayed) error {
	if d.BandBefore == d.BandAfter {
		return nil
	}
	id := "decay:" + d.ContactID + ":" + strconv.FormatInt(s.now().UnixMilli(), 10)
	return s.startScripts(ctx, d.ContactID, id, contacts.TypeScoreBandChanged,
		map[string]string{"from": d.BandBefore, "to": d.BandAfter, "score": strconv.Itoa(d.After), "reason": contacts.ReasonDecay},
		d.After-d.Before)
}
