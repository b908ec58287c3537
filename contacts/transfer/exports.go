package transfer

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/xuri/excelize/v2"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// Resolve turns an audience expression into the ids of its contacts. The
// gateway passes one built on the campaign audience (outreach), so transfer
// stays free of outreach; total is the count ids yields. An error wrapping
// ErrInvalid (an expression that cannot be resolved) fails the export;
// any other is retried.
type Resolve func(ctx context.Context, audience string) (total int, ids iter.Seq[string], err error)

// ExportOptions configure Exports.
type ExportOptions struct {
	// Resolve finds an audience's contacts; required.
	Resolve Resolve
	// Retention is how long the job and its file are kept (default 7 days).
	Retention time.Duration
	// Queue is the asynq queue of the jobs (default "default").
	Queue string
	// Channels are the consent channels fields may name (default
	// contacts.DefaultChannels()).
	Channels []string
	Now      func() time.Time
	Log      *zap.Logger
}

// Exports runs export jobs.
type Exports struct {
	rdb   redis.UniversalClient
	store *contacts.Store
	queue *asynq.Client
	opt   ExportOptions
	chans map[string]bool
}

// NewExports checks the options. It does no I/O.
func NewExports(rdb redis.UniversalClient, store *contacts.Store, opt ExportOptions) (*Exports, error) {
	switch {
	case rdb == nil || store == nil:
		return nil, errors.New("transfer: NewExports needs a Redis client and the contact store")
	case opt.Resolve == nil:
		return nil, errors.New("transfer: ExportOptions.Resolve is required")
	case opt.Retention < 0:
		return nil, errors.New("transfer: Retention must not be negative; 0 takes the default")
	}
	if opt.Retention == 0 {
		opt.Retention = DefaultRetention
	}
	if opt.Queue == "" {
		opt.Queue = "default"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = zap.NewNop()
	}
	return &Exports{rdb: rdb, store: store, queue: asynq.NewClientFromRedisClient(rdb), opt: opt, chans: channelSet(opt.Channels)}, nil
}

// DefaultExportFields are the columns of an export that names none; an
// import reads every one of them back (the contact's own state is ignored).
var DefaultExportFields = []string{"id", "name", contacts.KindPhone, contacts.KindEmail, TargetOwner, "stage", "score", TargetTags,
	TargetCompany, TargetIndustry, TargetRegion, SourceField}

// ExportRequest is what the caller asks of one export.
type ExportRequest struct {
	Audience string
	// Format is csv (default) or xlsx.
	Format string
	// Fields are the columns in order (default DefaultExportFields): id,
	// name, phone, email, openid, unionid, external_userid, owner, stage,
	// activity, score, tags, company, industry, region, source, created_at,
	// last_seen, consent:<channel>, field:<name>.
	Fields []string
	// Owner, when set, keeps only contacts that rep owns (sales tokens).
	Owner string
	By    string
}

// ExportJob is an export's progress, as the API shows it.
type ExportJob struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Audience   string    `json:"audience"`
	Format     string    `json:"format"`
	Fields     []string  `json:"fields"`
	Owner      string    `json:"owner,omitempty"`
	By         string    `json:"by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	RowsTotal  int       `json:"rows_total"`
	RowsDone   int       `json:"rows_done"`
	Exported   int       `json:"exported"`
	Size       int64     `json:"size"`
	Error      string    `json:"error,omitempty"`
}

func (ex *Exports) checkField(f string) error {
	switch f {
	case "id", "name", contacts.KindPhone, contacts.KindEmail, contacts.KindOpenID, contacts.KindUnionID, contacts.KindExternalUserID,
		TargetOwner, "stage", "activity", "score", TargetTags, TargetCompany, TargetIndustry, TargetRegion, SourceField, "created_at", "last_seen":
		return nil
	}
	if ch, ok := strings.CutPrefix(f, targetConsent+":"); ok && ex.chans[ch] {
		return nil
	}
	if name, ok := strings.CutPrefix(f, targetField+":"); ok && name != "" && len(name) <= maxFieldNameLen {
		return nil
	}
	return fmt.Errorf("transfer: field %q is unknown; use id, name, phone, email, openid, unionid, external_userid, owner, stage, activity, score, tags, company, industry, region, source, created_at, last_seen, consent:<channel> or field:<name>: %w", f, ErrInvalid)
}

// Create records an export job and queues it.
func (ex *Exports) Create(ctx context.Context, req ExportRequest) (*ExportJob, error) {
	switch req.Format {
	case "":
		req.Format = FormatCSV
	case FormatCSV, FormatXLSX:
	default:
		return nil, fmt.Errorf("transfer: format %q is unknown; use csv or xlsx: %w", req.Format, ErrInvalid)
	}
	if len(req.Fields) == 0 {
		req.Fields = DefaultExportFields
	}
	if len(req.Fields) > maxCells {
		return nil, fmt.Errorf("transfer: %d fields; at most %d: %w", len(req.Fields), maxCells, ErrInvalid)
	}
	for i, f := range req.Fields {
		if err := ex.checkField(f); err != nil {
			return nil, err
		}
		if slices.Contains(req.Fields[:i], f) {
			return nil, fmt.Errorf("transfer: field %q is listed twice: %w", f, ErrInvalid)
		}
	}
	id := newJobID()
	_, err := ex.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, exportKey(id), "status", StatusQueued, "audience", req.Audience, "format", req.Format, "fields", strings.Join(req.Fields, "\n"),
			"owner", req.Owner, "by", req.By, "created_at", msString(ex.opt.Now()))
		p.Expire(ctx, exportKey(id), ex.opt.Retention)
		return nil
	})
	if err == nil {
		task, opts := jobTask(TaskExport, id, ex.opt.Queue)
		_, err = ex.queue.EnqueueContext(ctx, task, opts...)
	}
	if err != nil {
		_ = ex.rdb.Del(context.WithoutCancel(ctx), exportKey(id)).Err()
		return nil, fmt.Errorf("transfer: queue export %s: %w", id, err)
	}
	return ex.Get(ctx, id)
}

// Get reads an export's progress.
func (ex *Exports) Get(ctx context.Context, id string) (*ExportJob, error) {
	if !validJobID(id) {
		return nil, fmt.Errorf("transfer: export %q: %w", id, ErrExportNotFound)
	}
	h, err := ex.rdb.HGetAll(ctx, exportKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("transfer: read export %s: %w", id, err)
	}
	if h["status"] == "" {
		return nil, fmt.Errorf("transfer: export %s: %w", id, ErrExportNotFound)
	}
	size, _ := strconv.ParseInt(h["size"], 10, 64)
	return &ExportJob{ID: id, Status: h["status"], Audience: h["audience"], Format: h["format"], Fields: strings.Split(h["fields"], "\n"),
		Owner: h["owner"], By: h["by"], CreatedAt: hashTime(h, "created_at"), FinishedAt: hashTime(h, "finished_at"),
		RowsTotal: hashInt(h, "rows_total"), RowsDone: hashInt(h, "rows_done"), Exported: hashInt(h, "exported"), Size: size, Error: h["error"]}, nil
}

// Open returns a finished export and a reader streaming its file.
func (ex *Exports) Open(ctx context.Context, id string) (*ExportJob, io.Reader, error) {
	j, err := ex.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if j.Status != StatusDone {
		return j, nil, fmt.Errorf("transfer: export %s is %s: %w", id, j.Status, ErrNotReady)
	}
	n, err := ex.rdb.HGet(ctx, exportKey(id), "chunks").Int()
	if err != nil {
		return nil, nil, fmt.Errorf("transfer: read export %s: %w", id, err)
	}
	return j, &chunkReader{ctx: ctx, rdb: ex.rdb, key: func(i int) string { return exportFileKey(id, i) }, n: n}, nil
}

// Register adds the export task handler to an asynq mux.
func (ex *Exports) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskExport, func(ctx context.Context, t *asynq.Task) error {
		id, err := taskJob(t)
		if err != nil {
			return err
		}
		return ex.Run(ctx, id)
	})
}

// progressEvery is how many contacts pass between progress writes.
const progressEvery = 500

// Run executes export id. An attempt after a crash starts the file over:
// chunks are overwritten in order and the count is recorded only at the
// end, so a reader never sees a half-written file.
func (ex *Exports) Run(ctx context.Context, id string) error {
	j, err := ex.Get(ctx, id)
	if errors.Is(err, ErrExportNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if j.Status == StatusDone || j.Status == StatusFailed {
		return nil
	}
	total, ids, err := ex.opt.Resolve(ctx, j.Audience)
	if err != nil {
		if errors.Is(err, ErrInvalid) {
			return ex.fail(ctx, id, err)
		}
		return err
	}
	if err := ex.rdb.HSet(ctx, exportKey(id), "status", StatusExporting, "rows_total", total, "rows_done", 0).Err(); err != nil {
		return err
	}
	w := &chunkWriter{ctx: ctx, rdb: ex.rdb, key: func(n int) string { return exportFileKey(id, n) }, ttl: ex.opt.Retention}
	out, err := newSheetWriter(j.Format, w)
	if err != nil {
		return err
	}
	if err := out.row(j.Fields); err != nil {
		return err
	}
	done, exported := 0, 0
	for cid := range ids {
		c, err := ex.store.Get(ctx, cid)
		switch {
		case errors.Is(err, contacts.ErrNotFound):
		case err != nil:
			return fmt.Errorf("transfer: export %s: read contact %s: %w", id, cid, err)
		case j.Owner == "" || c.Owner == j.Owner:
			if err := out.row(exportRow(c, j.Fields)); err != nil {
				return err
			}
			exported++
		}
		if done++; done%progressEvery == 0 {
			if err := ex.rdb.HSet(ctx, exportKey(id), "rows_done", done).Err(); err != nil {
				return err
			}
		}
	}
	if err := out.close(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_, err = ex.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, exportKey(id), "status", StatusDone, "rows_done", done, "exported", exported, "chunks", w.n, "size", w.size,
			"finished_at", msString(ex.opt.Now()))
		return nil
	})
	if err == nil {
		ex.opt.Log.Info("export done", zap.String("job", id), zap.Int("contacts", exported), zap.Int64("bytes", w.size))
	}
	return err
}

func (ex *Exports) fail(ctx context.Context, id string, cause error) error {
	if err := ex.rdb.HSet(ctx, exportKey(id), "status", StatusFailed, "error", cause.Error(), "finished_at", msString(ex.opt.Now())).Err(); err != nil {
		return err
	}
	return nil
}

// exportRow renders one contact in the field order. Several values of one
// identity kind are joined with ";".
func exportRow(c *contacts.Contact, fields []string) []string {
	row := make([]string, len(fields))
	for i, f := range fields {
		switch f {
		case "id":
			row[i] = c.ID
		case "name":
			row[i] = c.Name
		case contacts.KindPhone, contacts.KindEmail, contacts.KindOpenID, contacts.KindUnionID, contacts.KindExternalUserID:
			row[i] = strings.Join(c.Identities[f], ";")
		case TargetOwner:
			row[i] = c.Owner
		case "stage":
			row[i] = c.Stage
		case "activity":
			row[i] = c.Activity
		case "score":
			row[i] = strconv.Itoa(c.Score)
		case TargetTags:
			row[i] = strings.Join(c.Tags, ",")
		case "created_at":
			row[i] = c.CreatedAt.Format(time.RFC3339)
		case "last_seen":
			if !c.LastSeen.IsZero() {
				row[i] = c.LastSeen.Format(time.RFC3339)
			}
		default:
			if ch, ok := strings.CutPrefix(f, targetConsent+":"); ok {
				row[i] = c.Consent[ch]
			} else {
				row[i] = c.Fields[strings.TrimPrefix(f, targetField+":")]
			}
		}
	}
	return row
}

// sheetWriter writes rows as CSV or XLSX.
type sheetWriter struct {
	csv  *csv.Writer
	xlsx *excelize.File
	sw   *excelize.StreamWriter
	dst  io.Writer
	n    int
}

func newSheetWriter(format string, dst io.Writer) (*sheetWriter, error) {
	if format == FormatXLSX {
		f := excelize.NewFile()
		sw, err := f.NewStreamWriter("Sheet1")
		if err != nil {
			return nil, err
		}
		return &sheetWriter{xlsx: f, sw: sw, dst: dst}, nil
	}
	// A byte order mark makes Excel read the UTF-8 right.
	if _, err := io.WriteString(dst, "\uFEFF"); err != nil {
		return nil, err
	}
	return &sheetWriter{csv: csv.NewWriter(dst)}, nil
}

func (s *sheetWriter) row(cells []string) error {
	s.n++
	if s.csv != nil {
		safe := make([]string, len(cells))
		for i, c := range cells {
			safe[i] = defuse(c)
		}
		return s.csv.Write(safe)
	}
	vals := make([]any, len(cells))
	for i, c := range cells {
		vals[i] = c // strings stay text: a phone number never turns into 1.38E+10
	}
	cell, err := excelize.CoordinatesToCellName(1, s.n)
	if err != nil {
		return err
	}
	return s.sw.SetRow(cell, vals)
}

func (s *sheetWriter) close() error {
	if s.csv != nil {
		s.csv.Flush()
		return s.csv.Error()
	}
	if err := s.sw.Flush(); err != nil {
		return err
	}
	defer func() { _ = s.xlsx.Close() }()
	return s.xlsx.Write(s.dst)
}

// defuse keeps a spreadsheet from running a cell as a formula (CSV
// injection): text starting with = @ or a tab, or + and - not followed by
// a digit, gets a leading apostrophe. Phone numbers (+86…) stay as they are.
func defuse(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if len(v) == 1 || v[1] < '0' || v[1] > '9' {
			return "'" + v
		}
	}
	return v
}
