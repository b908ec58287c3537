package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// rejectFlush is how many rejects the first pass buffers before storing
// them; batchRows how many rows the second pass applies between
// checkpoints (at most that many rows are compared again after a crash).
const (
	rejectFlush = 500
	batchRows   = 512
)

// importState is a job's settings and counters while it runs.
type importState struct {
	id        string
	dry       bool
	format    string
	enc       string
	chunks    int
	mapping   map[string]string
	tagSep    string
	validated bool
	nextLine  int  // rows up to this line are done
	resumed   bool // an earlier attempt applied rows and stopped
	repairTo  int  // up to this line, unchanged rows get their tag index repaired
	rowsTotal int
	counts    struct{ done, created, updated, unchanged, rejected int }
	changes   int // summaries stored so far
}

// Run executes import job id: the first pass checks every row without
// writing, the second applies the rest from the last checkpoint. It is
// what the asynq task runs, and safe to run again after a crash or on a
// finished job (which it leaves alone). A file problem fails the job,
// recorded in its status, and is not retried; a Redis error is returned
// for asynq to retry.
func (im *Imports) Run(ctx context.Context, id string) error {
	st, err := im.load(ctx, id)
	if err != nil || st == nil {
		return err
	}
	mp, dupLines, err := im.validate(ctx, st)
	if errors.Is(err, ErrBadFile) {
		return im.fail(ctx, st, err)
	}
	if err != nil {
		return err
	}
	if err := im.apply(ctx, st, mp, dupLines); err != nil {
		if errors.Is(err, ErrBadFile) {
			return im.fail(ctx, st, err)
		}
		return err
	}
	_, err = im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, importKey(id), "status", StatusDone, "finished_at", msString(im.opt.Now()))
		return nil
	})
	if err != nil {
		return fmt.Errorf("transfer: finish import %s: %w", id, err)
	}
	_ = deleteChunks(ctx, im.rdb, func(n int) string { return importFileKey(id, n) }, st.chunks)
	im.opt.Log.Info("import done", zap.String("job", id), zap.Bool("dry_run", st.dry), zap.Int("rows", st.rowsTotal),
		zap.Int("created", st.counts.created), zap.Int("updated", st.counts.updated), zap.Int("unchanged", st.counts.unchanged), zap.Int("rejected", st.counts.rejected))
	return nil
}

// load reads the job; nil when there is nothing (more) to do.
func (im *Imports) load(ctx context.Context, id string) (*importState, error) {
	h, err := im.rdb.HGetAll(ctx, importKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("transfer: read import %s: %w", id, err)
	}
	switch h["status"] {
	case "":
		return nil, fmt.Errorf("transfer: import %s is gone (expired?): %w", id, asynq.SkipRetry)
	case StatusDone, StatusFailed:
		return nil, nil
	}
	st := &importState{id: id, dry: h["dry_run"] == "1", format: h["format"], enc: h["encoding"], chunks: hashInt(h, "chunks"),
		tagSep: h["tag_sep"], validated: h["validated"] == "1", nextLine: hashInt(h, "next_line"), rowsTotal: hashInt(h, "rows_total")}
	if err := json.Unmarshal([]byte(h["mapping"]), &st.mapping); err != nil && h["mapping"] != "" {
		return nil, fmt.Errorf("transfer: import %s has an unreadable mapping: %w", id, asynq.SkipRetry)
	}
	st.counts.done, st.counts.created, st.counts.updated = hashInt(h, "rows_done"), hashInt(h, "created"), hashInt(h, "updated")
	st.counts.unchanged, st.counts.rejected = hashInt(h, "unchanged"), hashInt(h, "rejected")
	st.changes = hashInt(h, "changes_kept")
	st.resumed = h["applying"] == "1"
	return st, nil
}

// fail records a file problem as the job's outcome.
func (im *Imports) fail(ctx context.Context, st *importState, cause error) error {
	_, err := im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, importKey(st.id), "status", StatusFailed, "error", cause.Error(), "finished_at", msString(im.opt.Now()))
		return nil
	})
	if err != nil {
		return fmt.Errorf("transfer: record failure of import %s: %w", st.id, err)
	}
	_ = deleteChunks(ctx, im.rdb, func(n int) string { return importFileKey(st.id, n) }, st.chunks)
	im.opt.Log.Info("import failed", zap.String("job", st.id), zap.Error(cause))
	return nil
}

// open streams the stored file as rows, past its header, and maps the
// header.
func (im *Imports) open(ctx context.Context, st *importState) (rows, *mapper, error) {
	r := &chunkReader{ctx: ctx, rdb: im.rdb, key: func(n int) string { return importFileKey(st.id, n) }, n: st.chunks}
	var (
		rs  rows
		err error
	)
	if st.format == FormatXLSX {
		rs, err = newXLSXRows(r, im.opt.UploadLimit)
	} else {
		rs, err = newCSVRows(r, st.enc)
	}
	if err != nil {
		return nil, nil, err
	}
	header, err := readHeader(rs)
	if err != nil {
		rs.close()
		return nil, nil, err
	}
	mp, err := newMapper(header, st.mapping, im.chans, st.tagSep, im.opt.NormalizePhone, st.id)
	if err != nil {
		rs.close()
		return nil, nil, err
	}
	return rs, mp, nil
}

// validate is the first pass: every row is read and checked, nothing is
// written to contacts. It returns the lines to skip in the second pass
// (rejected rows). Rejects are stored the first time the pass completes.
func (im *Imports) validate(ctx context.Context, st *importState) (*mapper, map[int]bool, error) {
	if !st.validated {
		if err := im.rdb.HSet(ctx, importKey(st.id), "status", StatusValidating).Err(); err != nil {
			return nil, nil, err
		}
	}
	rs, mp, err := im.open(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	defer rs.close()
	seen := map[string]int{} // identity → line of the row that named it first
	skip := map[int]bool{}
	var pending []any
	flush := func() error {
		if st.validated || len(pending) == 0 {
			pending = pending[:0]
			return nil
		}
		err := im.rdb.RPush(ctx, importRejectsKey(st.id), pending...).Err()
		pending = pending[:0]
		return err
	}
	if !st.validated {
		if err := im.rdb.Del(ctx, importRejectsKey(st.id), importChangesKey(st.id)).Err(); err != nil {
			return nil, nil, err
		}
	}
	total, rejected := 0, 0
	for {
		line, cells, err := rs.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		row, rej, empty := mp.mapRow(line, cells)
		if empty {
			continue
		}
		total++
		if rej == nil {
			rej = duplicate(row, seen)
		}
		if rej != nil {
			rejected++
			skip[line] = true
			b, _ := json.Marshal(rej)
			if pending = append(pending, b); len(pending) >= rejectFlush {
				if err := flush(); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	if !st.validated {
		st.rowsTotal, st.counts.rejected, st.validated = total, rejected, true
		_, err := im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, importKey(st.id), "validated", "1", "rows_total", total, "rejected", rejected, "status", StatusImporting)
			p.Expire(ctx, importRejectsKey(st.id), im.opt.Retention)
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	} else if err := im.rdb.HSet(ctx, importKey(st.id), "status", StatusImporting).Err(); err != nil {
		return nil, nil, err
	}
	return mp, skip, nil
}

// duplicate rejects a row naming an identity an earlier (accepted) row
// named, and otherwise remembers the row's identities. Two rows for one
// person would otherwise race each other, and the second would silently
// overwrite the first.
func duplicate(row rowData, seen map[string]int) *Reject {
	for i, id := range row.ids {
		if first, ok := seen[id.String()]; ok {
			return &Reject{Line: row.line, Column: row.idCols[i], Reason: fmt.Sprintf("duplicate: %s %s is also on line %d", id.Kind, id.Value, first)}
		}
	}
	for _, id := range row.ids {
		seen[id.String()] = row.line
	}
	return nil
}

// Row outcomes.
const (
	outUnchanged = iota
	outCreated
	outUpdated
	outRejected
)

type rowResult struct {
	outcome int
	summary *ChangeSummary
	reject  *Reject
	err     error
}

// apply is the second pass, from the checkpoint on, batchRows at a time
// with Workers rows in flight.
func (im *Imports) apply(ctx context.Context, st *importState, mp *mapper, skip map[int]bool) error {
	if !st.dry {
		if err := im.rdb.HSet(ctx, importKey(st.id), "applying", "1").Err(); err != nil {
			return err
		}
	}
	rs, _, err := im.open(ctx, st)
	if err != nil {
		return err
	}
	defer rs.close()
	batch := make([]rowData, 0, batchRows)
	skipped := 0 // rejected rows passed in this batch
	last := st.nextLine
	for {
		line, cells, err := rs.next()
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err == nil && line > st.nextLine {
			last = line
			if skip[line] {
				skipped++
			} else if row, rej, empty := mp.mapRow(line, cells); !empty && rej == nil {
				batch = append(batch, row)
			}
		}
		if len(batch)+skipped >= batchRows || (errors.Is(err, io.EOF) && (len(batch) > 0 || skipped > 0)) {
			if st.resumed {
				// The first batch after a crash is the one that was in
				// flight: its rows may be stored with their tag index
				// update cut off, and now look unchanged.
				st.repairTo, st.resumed = last, false
			}
			if err := im.applyBatch(ctx, st, batch, skipped, last); err != nil {
				return err
			}
			batch, skipped, st.repairTo = batch[:0], 0, 0
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// applyBatch applies rows concurrently, then checkpoints counters, the
// batch's rejects and change summaries, and the last line in one MULTI.
func (im *Imports) applyBatch(ctx context.Context, st *importState, batch []rowData, skipped, last int) error {
	results := make([]rowResult, len(batch))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(im.opt.Workers, len(batch)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batch) || ctx.Err() != nil {
					return
				}
				results[i] = im.applyRow(ctx, st, batch[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var rejects, summaries []any
	c := st.counts
	c.done += skipped
	for _, r := range results {
		if r.err != nil {
			return r.err
		}
		c.done++
		switch r.outcome {
		case outCreated:
			c.created++
		case outUpdated:
			c.updated++
		case outUnchanged:
			c.unchanged++
		case outRejected:
			c.rejected++
			b, _ := json.Marshal(r.reject)
			rejects = append(rejects, b)
		}
		if r.summary != nil && st.changes+len(summaries) < changesKept {
			b, _ := json.Marshal(r.summary)
			summaries = append(summaries, b)
		}
	}
	_, err := im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		k := importKey(st.id)
		p.HSet(ctx, k, "rows_done", c.done, "created", c.created, "updated", c.updated, "unchanged", c.unchanged,
			"rejected", c.rejected, "next_line", last, "changes_kept", st.changes+len(summaries))
		if len(rejects) > 0 {
			p.RPush(ctx, importRejectsKey(st.id), rejects...)
			p.Expire(ctx, importRejectsKey(st.id), im.opt.Retention)
		}
		if len(summaries) > 0 {
			p.RPush(ctx, importChangesKey(st.id), summaries...)
			p.Expire(ctx, importChangesKey(st.id), im.opt.Retention)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("transfer: checkpoint import %s: %w", st.id, err)
	}
	st.counts, st.nextLine, st.changes = c, last, st.changes+len(summaries)
	return nil
}

// applyRow compares one row with the contact its identities lead to and
// writes only the difference, as one Apply (whole or not at all).
func (im *Imports) applyRow(ctx context.Context, st *importState, row rowData) rowResult {
	found, merge, err := im.find(ctx, row.ids)
	if err != nil {
		return rowResult{err: err}
	}
	ch, changes, rej := plan(row, found, merge, st.id)
	if rej != nil {
		return rowResult{outcome: outRejected, reject: rej}
	}
	if len(changes) == 0 {
		if row.line <= st.repairTo && len(row.tags) > 0 && !st.dry {
			if err := im.store.RepairTagIndex(ctx, found.ID); err != nil {
				return rowResult{err: fmt.Errorf("transfer: import %s line %d: repair tag index: %w", st.id, row.line, err)}
			}
		}
		return rowResult{outcome: outUnchanged}
	}
	sum := &ChangeSummary{Line: row.line, Action: "update", Changes: changes}
	out := outUpdated
	if found == nil {
		sum.Action, out = "create", outCreated
		sum.ContactID = contacts.IDFor(row.ids[0])
	} else {
		sum.ContactID = found.ID
	}
	if st.dry {
		return rowResult{outcome: out, summary: sum}
	}
	res, err := im.store.Apply(ctx, ch)
	switch {
	case errors.Is(err, contacts.ErrInvalid):
		return rowResult{outcome: outRejected, reject: &Reject{Line: row.line, Reason: err.Error()}}
	case errors.Is(err, contacts.ErrTagIndex):
		// The change is stored; the tag index repairs itself on the
		// contact's next change.
		im.opt.Log.Warn("import: tag index lags", zap.String("job", st.id), zap.String("contact", res.ContactID), zap.Error(err))
	case err != nil:
		return rowResult{err: fmt.Errorf("transfer: import %s line %d: %w", st.id, row.line, err)}
	}
	sum.ContactID = res.ContactID
	if res.Created {
		out = outCreated
	}
	if im.opt.Observer != nil {
		if err := im.opt.Observer.Imported(ctx, res.ContactID, st.id, res.Created); err != nil {
			im.opt.Log.Warn("import: observer failed", zap.String("job", st.id), zap.String("contact", res.ContactID), zap.Error(err))
		}
	}
	return rowResult{outcome: out, summary: sum}
}

// find reads the contact the row's identities lead to: one read per
// identity the first contact found does not already hold. merge reports
// identities leading to two different contacts (Apply merges them).
func (im *Imports) find(ctx context.Context, ids []contacts.Identity) (found *contacts.Contact, merge bool, err error) {
	for _, id := range ids {
		if found != nil && holds(found, id) {
			continue
		}
		c, err := im.store.Get(ctx, contacts.IDFor(id))
		if errors.Is(err, contacts.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("transfer: read contact of %s: %w", id, err)
		}
		if !holds(c, id) {
			continue // the slot holds a contact this identity was never linked to
		}
		if found == nil {
			found = c
		} else if c.ID != found.ID {
			merge = true
		}
	}
	return found, merge, nil
}

func holds(c *contacts.Contact, id contacts.Identity) bool {
	for _, v := range c.Identities[id.Kind] {
		if v == id.Value {
			return true
		}
	}
	return false
}

// TypeImported is the timeline entry type of a change made by an import.
const TypeImported = "imported"

// plan builds the Change that makes the stored contact (nil: none yet)
// agree with the row, and describes it. No changes means nothing to write.
// A row that would opt a contact back in after it opted out is rejected:
// a list is no proof of new consent.
func plan(row rowData, c *contacts.Contact, merge bool, jobID string) (contacts.Change, []string, *Reject) {
	ch := contacts.Change{
		EventID:    "import:" + jobID + ":" + strconv.Itoa(row.line),
		Identities: row.ids,
		Timeline:   &contacts.Entry{Type: TypeImported, Source: "import:" + jobID, Props: map[string]string{"job": jobID, "line": strconv.Itoa(row.line)}},
	}
	var changes []string
	if c == nil {
		changes = append(changes, "new contact")
		c = &contacts.Contact{}
	}
	if merge {
		changes = append(changes, "merge contacts")
	}
	for _, id := range row.ids {
		if c.ID != "" && !holds(c, id) {
			changes = append(changes, "identity "+id.String())
		}
	}
	if row.name != "" && row.name != c.Name {
		ch.Name = row.name
		changes = append(changes, "name "+row.name)
	}
	if row.owner != "" && row.owner != c.Owner {
		ch.Owner = row.owner
		changes = append(changes, "owner "+row.owner)
	}
	set := func(k, v string) {
		if ch.Fields == nil {
			ch.Fields = map[string]string{}
		}
		ch.Fields[k] = v
	}
	for _, k := range sortedKeys(row.fields) {
		if v := row.fields[k]; c.Fields[k] != v {
			set(k, v)
			changes = append(changes, "field "+k+"="+v)
		}
	}
	if c.Fields[SourceField] == "" {
		set(SourceField, "import:"+jobID)
		changes = append(changes, "field "+SourceField+"=import:"+jobID)
	}
	for _, t := range row.tags {
		if !contains(c.Tags, t) {
			ch.AddTags = append(ch.AddTags, t)
		}
	}
	if len(ch.AddTags) > 0 {
		changes = append(changes, "tags +"+joinComma(ch.AddTags))
	}
	for _, cc := range row.consent {
		cur := c.Consent[cc.channel]
		switch {
		case cc.status == contacts.ConsentUnknown || cc.status == cur:
		case cur == contacts.ConsentOptedOut && cc.status == contacts.ConsentOptedIn:
			return contacts.Change{}, nil, &Reject{Line: row.line, Column: "consent:" + cc.channel,
				Reason: fmt.Sprintf("contact %s opted out of %s (%s); an import cannot opt them back in: collect new consent and record it with PUT /api/v1/contacts/:id/consent", c.ID, cc.channel, c.ConsentSource[cc.channel])}
		default:
			ch.Consent = append(ch.Consent, contacts.ConsentChange{Channel: cc.channel, Status: cc.status, Source: cc.source})
			changes = append(changes, "consent "+cc.channel+" "+cc.status)
		}
	}
	// Setting the source alone on a contact that matches the row otherwise
	// is still a change: the contact is counted for this import batch.
	return ch, changes, nil
}
