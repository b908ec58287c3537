package reports

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed scripts/stage.lua
var stageLua string

var stageScript = redis.NewScript(stageLua)

// Stages in funnel order; the strings are the contacts package's.
var Stages = []string{"prospect", "mql", "sql", "customer"}

func stageRank(s string) int {
	for i, st := range Stages {
		if st == s {
			return i
		}
	}
	return -1
}

// Sources a contact can come from. A source is fixed at first sight.
const (
	SourceDirect  = "direct"  // first seen without a QR scene, WeCom state or import
	SourceUnknown = "unknown" // known before reports recorded its first sight
	allSources    = "*"
)

// QRSource, WeComStateSource and ImportSource name the sources the funnel
// can be split by.
func QRSource(scene string) string         { return "qr:" + scene }
func WeComStateSource(state string) string { return "wecom_state:" + state }
func ImportSource(job string) string       { return "import:" + job }

// StageFact is one first sight or stage change, for RecordStages.
type StageFact struct {
	ContactID string
	// Stage entered; on first sight the contact's stage then (default prospect).
	Stage string
	// Source, on first sight; ignored on a stage change unless the contact
	// was never seen (then SourceUnknown is used when empty).
	Source string
	At     time.Time
	// First marks a first sight rather than a stage change.
	First bool
}

// Seen records the first sight of a contact and where it came from; later
// calls for the same contact change nothing. Call it when a contact is
// created.
func (r *Reports) Seen(ctx context.Context, contactID, source string, at time.Time) error {
	return r.RecordStages(ctx, []StageFact{{ContactID: contactID, Stage: Stages[0], Source: source, At: at, First: true}})
}

// Imported records a contact an import job created or matched: a created
// contact's source is the job. It fits the import's observer.
func (r *Reports) Imported(ctx context.Context, contactID, jobID string, created bool) error {
	if !created {
		return nil
	}
	return r.Seen(ctx, contactID, ImportSource(jobID), r.opt.Now())
}

// StageChanged records that a contact entered stage: the funnel counts
// every stage it reaches (a jump from prospect to customer reaches mql and
// sql too, so the funnel stays a funnel), the time it spent in the stage it
// left goes into that stage's histogram, and its last campaign touch within
// AttributionWindow earns the campaign a lead, conversion or new customer.
// Entering the stage it is in changes nothing.
func (r *Reports) StageChanged(ctx context.Context, contactID, stage string, at time.Time) error {
	return r.RecordStages(ctx, []StageFact{{ContactID: contactID, Stage: stage, At: at}})
}

// stageChunk bounds one pipeline of scripts when recording in bulk.
const stageChunk = 1000

// RecordStages records first sights and stage changes in bulk (imports,
// back-fills, benchmarks): two pipelines per thousand facts.
func (r *Reports) RecordStages(ctx context.Context, facts []StageFact) error {
	for i := range facts {
		f := &facts[i]
		if f.ContactID == "" {
			return fmt.Errorf("%w: a stage fact needs a contact id", ErrInvalid)
		}
		if f.Stage == "" && f.First {
			f.Stage = Stages[0]
		}
		if stageRank(f.Stage) < 0 {
			return fmt.Errorf("%w: stage %q is not one of prospect, mql, sql, customer", ErrInvalid, f.Stage)
		}
		f.Source = cleanLabel(f.Source)
		if f.Source == "" {
			f.Source = SourceUnknown
			if f.First {
				f.Source = SourceDirect
			}
		}
	}
	for start := 0; start < len(facts); start += stageChunk {
		if err := r.recordStageChunk(ctx, facts[start:min(start+stageChunk, len(facts))]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Reports) recordStageChunk(ctx context.Context, facts []StageFact) error {
	results := make([][]any, len(facts))
	if len(facts) == 1 {
		v, err := stageScript.Run(ctx, r.rdb, []string{contactStateKey(facts[0].ContactID)}, stageArgs(facts[0])...).Slice()
		if err != nil {
			return fmt.Errorf("reports: record stage of %s: %w", facts[0].ContactID, err)
		}
		results[0] = v
	} else {
		if err := stageScript.Load(ctx, r.rdb).Err(); err != nil {
			return fmt.Errorf("reports: load stage script: %w", err)
		}
		cmds := make([]*redis.Cmd, len(facts))
		_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, f := range facts {
				cmds[i] = stageScript.EvalSha(ctx, p, []string{contactStateKey(f.ContactID)}, stageArgs(f)...)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reports: record stages: %w", err)
		}
		for i, c := range cmds {
			if results[i], err = c.Slice(); err != nil {
				return fmt.Errorf("reports: record stage of %s: %w", facts[i].ContactID, err)
			}
		}
	}
	b := newBatch()
	for i, f := range facts {
		if err := r.countStage(b, f, results[i]); err != nil {
			return err
		}
	}
	return r.flush(ctx, b)
}

func stageArgs(f StageFact) []any {
	mode := "move"
	if f.First {
		mode = "seen"
	}
	return []any{mode, f.Stage, f.At.UnixMilli(), f.Source}
}

// countStage turns one script answer into counter increments.
func (r *Reports) countStage(b *batch, f StageFact, v []any) error {
	if len(v) != 7 {
		return errors.New("reports: stage.lua answered an unexpected shape")
	}
	changed, _ := v[0].(int64)
	prev, _ := v[1].(string)
	sinceMS, _ := strconv.ParseInt(str(v[2]), 10, 64)
	src, campaign := str(v[3]), str(v[4])
	touchMS, _ := strconv.ParseInt(str(v[5]), 10, 64)
	if fresh, _ := v[6].(int64); fresh == 1 {
		b.member(funnelSourcesKey(), src)
	}
	if changed != 1 {
		return nil
	}
	day := r.day(f.At)
	keys := []string{funnelDayKey(day, allSources), funnelDayKey(day, src)}
	from, to := stageRank(prev), stageRank(f.Stage)
	attributed := campaign != "" && touchMS > 0 && f.At.UnixMilli() >= touchMS &&
		time.Duration(f.At.UnixMilli()-touchMS)*time.Millisecond <= r.opt.AttributionWindow
	for s := from + 1; s <= to; s++ {
		for _, k := range keys {
			b.add(k, "in|"+Stages[s], 1)
		}
		if stat := campaignStageStat[Stages[s]]; attributed && stat != "" {
			b.add(campaignDayKey(day), campaign+"|"+stat, 1)
		}
	}
	if prev != "" && sinceMS > 0 && f.At.UnixMilli() >= sinceMS {
		bucket := strconv.Itoa(bucketOf(time.Duration(f.At.UnixMilli()-sinceMS) * time.Millisecond))
		for _, k := range keys {
			b.add(k, "dur|"+prev+"|"+bucket, 1)
		}
	}
	return nil
}

// campaignStageStat is what reaching a stage earns the campaign that last
// reached the contact.
var campaignStageStat = map[string]string{"mql": statLeads, "sql": statSQL, "customer": statCustomers}

func str(v any) string {
	s, _ := v.(string)
	return s
}
