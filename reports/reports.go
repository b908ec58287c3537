package reports

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

var (
	// ErrInvalid: a report request or a recorded value is malformed; the
	// message names the field.
	ErrInvalid = errors.New("invalid report request")
	// ErrPeriod: the period is not two dates in order within MaxDays.
	ErrPeriod = errors.New("invalid report period")
	// ErrCurrency: a cost in another currency than the reports' would make
	// ROI and CAC meaningless.
	ErrCurrency = errors.New("currency differs from the reports' currency")
)

// Options tune the reports; zero values take the defaults.
type Options struct {
	// Location decides which day an event counts on; default Asia/Shanghai,
	// where the teams using the product work.
	Location *time.Location
	// Currency of costs and revenue; default CNY.
	Currency string
	// MessageCost is the cost of one sent message per channel, in Currency
	// (e.g. sms: 0.045); channels not listed cost nothing.
	MessageCost map[string]float64
	// AttributionWindow is how long after a campaign reached a contact its
	// stage changes and orders are credited to the campaign; default 30 days.
	AttributionWindow time.Duration
	// ReplyWindow is how long after a send an inbound message counts as a
	// reply to it; default 72 hours.
	ReplyWindow time.Duration
	// Retention is how long daily counters are kept; default 800 days, so
	// two full years can be compared.
	Retention time.Duration
	// MaxDays bounds one query's period; default 366.
	MaxDays int
	Now     func() time.Time
	Log     *zap.Logger
}

// Reports records and reads the pre-aggregated reports.
type Reports struct {
	rdb redis.UniversalClient
	opt Options
}

// New builds the reports over rdb; it does no I/O.
func New(rdb redis.UniversalClient, opt Options) (*Reports, error) {
	if rdb == nil {
		return nil, errors.New("reports: Redis client is required")
	}
	if opt.Location == nil {
		loc, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("reports: load Asia/Shanghai: %w", err)
		}
		opt.Location = loc
	}
	if opt.Currency == "" {
		opt.Currency = "CNY"
	}
	if !currencyPattern(opt.Currency) {
		return nil, fmt.Errorf("reports: currency %q must be three capital letters (ISO 4217, e.g. CNY)", opt.Currency)
	}
	for ch, c := range opt.MessageCost {
		if math.IsNaN(c) || math.IsInf(c, 0) || c < 0 {
			return nil, fmt.Errorf("reports: message cost of %s must be a non-negative number", ch)
		}
	}
	if opt.AttributionWindow <= 0 {
		opt.AttributionWindow = 30 * 24 * time.Hour
	}
	if opt.ReplyWindow <= 0 {
		opt.ReplyWindow = 72 * time.Hour
	}
	if opt.Retention <= 0 {
		opt.Retention = 800 * 24 * time.Hour
	}
	if opt.MaxDays <= 0 {
		opt.MaxDays = 366
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	return &Reports{rdb: rdb, opt: opt}, nil
}

// Currency is what costs and revenue are kept in.
func (r *Reports) Currency() string { return r.opt.Currency }

func currencyPattern(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// dayFormat names a day in keys: compact and sortable.
const dayFormat = "20060102"

// dateFormat is how the API names days.
const dateFormat = "2006-01-02"

// day is the key name of the day t falls on in the reports' location.
func (r *Reports) day(t time.Time) string { return t.In(r.opt.Location).Format(dayFormat) }

// Period is an inclusive range of days in the reports' location.
type Period struct {
	From, To time.Time // midnight of the first and last day
}

// Period parses from and to (YYYY-MM-DD, inclusive). Empty to is today;
// empty from is 29 days before to, so the default is the last 30 days.
func (r *Reports) Period(from, to string) (Period, error) {
	today := r.opt.Now().In(r.opt.Location)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, r.opt.Location)
	var p Period
	var err error
	if p.To = today; to != "" {
		if p.To, err = time.ParseInLocation(dateFormat, to, r.opt.Location); err != nil {
			return Period{}, fmt.Errorf("%w: to=%q must be a date like 2026-11-01", ErrPeriod, to)
		}
	}
	if p.From = p.To.AddDate(0, 0, -29); from != "" {
		if p.From, err = time.ParseInLocation(dateFormat, from, r.opt.Location); err != nil {
			return Period{}, fmt.Errorf("%w: from=%q must be a date like 2026-11-01", ErrPeriod, from)
		}
	}
	switch n := len(p.days()); {
	case p.From.After(p.To):
		return Period{}, fmt.Errorf("%w: from %s is after to %s", ErrPeriod, p.From.Format(dateFormat), p.To.Format(dateFormat))
	case n > r.opt.MaxDays:
		return Period{}, fmt.Errorf("%w: %d days asked, at most %d per query; ask for a shorter period", ErrPeriod, n, r.opt.MaxDays)
	}
	return p, nil
}

// days lists the period's days as key names, oldest first.
func (p Period) days() []string {
	var out []string
	for d := p.From; !d.After(p.To) && len(out) <= 100000; d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(dayFormat))
	}
	return out
}

// dateOf turns a key day back into the API's form.
func dateOf(day string) string {
	t, err := time.Parse(dayFormat, day)
	if err != nil {
		return day
	}
	return t.Format(dateFormat)
}

// cleanLabel keeps a label (source, rep, campaign, channel) safe inside the
// "|"-separated fields and keys: separators become "_", length is bounded.
func cleanLabel(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 128 {
		s = s[:128]
	}
	return strings.Map(func(r rune) rune {
		if r == '|' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}
