package transfer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/journeygate/gateway/contacts"
)

// Observer hears about every contact an import created or changed, so a
// report can count contacts per import batch. It is called after the
// change is stored, never in a dry run; after a crash a row may be reported
// twice, so count distinct contacts. An error is logged; it never fails
// the row, which is stored already.
type Observer interface {
	Imported(ctx context.Context, contactID, jobID string, created bool) error
}

// ImportOptions configure Imports.
type ImportOptions struct {
	// NormalizePhone gives phone numbers their canonical form (+86…);
	// required. The gateway passes the SMS channel's, so an imported number
	// is the same identity as one Aliyun reports back.
	NormalizePhone func(string) (string, error)
	// Observer is told about each created or changed contact; nil: none.
	Observer Observer
	// UploadLimit bounds an uploaded file in bytes (default 20 MiB).
	UploadLimit int64
	// Retention is how long the file, the job and its reports are kept
	// (default 7 days).
	Retention time.Duration
	// Workers is how many rows one job applies at once (default 8).
	Workers int
	// Queue is the asynq queue of the jobs (default "default"); the worker
	// server must serve it.
	Queue string
	// Channels are the consent channels a file may name (default
	// contacts.DefaultChannels()); keep them equal to the store's.
	Channels []string
	Now      func() time.Time
	Log      *zap.Logger
}

// Imports runs import jobs.
type Imports struct {
	rdb   redis.UniversalClient
	store *contacts.Store
	queue *asynq.Client
	opt   ImportOptions
	chans map[string]bool
}

// NewImports checks the options. It does no I/O.
func NewImports(rdb redis.UniversalClient, store *contacts.Store, opt ImportOptions) (*Imports, error) {
	switch {
	case rdb == nil || store == nil:
		return nil, errors.New("transfer: NewImports needs a Redis client and the contact store")
	case opt.NormalizePhone == nil:
		return nil, errors.New("transfer: ImportOptions.NormalizePhone is required (pass sms.NormalizePhone)")
	case opt.UploadLimit < 0 || opt.Retention < 0 || opt.Workers < 0:
		return nil, errors.New("transfer: UploadLimit, Retention and Workers must not be negative; 0 takes the default")
	}
	if opt.UploadLimit == 0 {
		opt.UploadLimit = DefaultUploadLimit
	}
	if opt.Retention == 0 {
		opt.Retention = DefaultRetention
	}
	if opt.Workers == 0 {
		opt.Workers = DefaultWorkers
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
	return &Imports{rdb: rdb, store: store, queue: asynq.NewClientFromRedisClient(rdb), opt: opt, chans: channelSet(opt.Channels)}, nil
}

// Channels lists the consent channels a mapping may name.
func (im *Imports) Channels() []string {
	out := make([]string, 0, len(im.chans))
	for c := range im.chans {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// UploadLimit is the largest file Create takes.
func (im *Imports) UploadLimit() int64 { return im.opt.UploadLimit }

// ImportRequest is what the caller asks of one import.
type ImportRequest struct {
	// Format is csv or xlsx; "" detects from the content.
	Format string
	// Encoding of a CSV: utf-8 or gbk (gb18030); "" detects (a BOM means
	// UTF-8; valid UTF-8 means UTF-8; else GB18030).
	Encoding string
	// Mapping maps headers to targets (see ParseMapping); headers it does
	// not name use the default spellings.
	Mapping map[string]string
	// TagSeparator splits the tags cell; "" splits on , ， 、 ; ； |.
	TagSeparator string
	// DryRun compares and reports without writing any contact.
	DryRun bool
	// By names who started it (the token's name), FileName the upload.
	By, FileName string
}

// ChangeSummary is one row's effect, as the job lists its first changes.
type ChangeSummary struct {
	Line      int      `json:"line"`
	ContactID string   `json:"contact_id"`
	Action    string   `json:"action"` // create or update
	Changes   []string `json:"changes"`
}

// ImportJob is an import's progress and outcome, as the API shows it.
type ImportJob struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	DryRun     bool            `json:"dry_run"`
	Format     string          `json:"format"`
	Encoding   string          `json:"encoding,omitempty"`
	FileName   string          `json:"file_name,omitempty"`
	Size       int64           `json:"size"`
	By         string          `json:"by,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt time.Time       `json:"finished_at,omitzero"`
	RowsTotal  int             `json:"rows_total"`
	RowsDone   int             `json:"rows_done"`
	Created    int             `json:"created"`
	Updated    int             `json:"updated"`
	Unchanged  int             `json:"unchanged"`
	Rejected   int             `json:"rejected"`
	Errors     []Reject        `json:"errors"`
	Changes    []ChangeSummary `json:"changes"`
	Error      string          `json:"error,omitempty"`
}

// jobErrorsShown and changesKept bound what a status read returns.
const (
	jobErrorsShown = 20
	changesKept    = 100
)

// Create stores file in Redis in chunks (refusing it past the upload
// limit), checks a CSV's header at once so an unusable file is refused
// before a job exists, records the job and queues it. Nothing is stored
// when it fails.
func (im *Imports) Create(ctx context.Context, file io.Reader, req ImportRequest) (*ImportJob, error) {
	format, err := normalizeFormat(req.Format)
	if err != nil {
		return nil, err
	}
	enc, err := normalizeEncoding(req.Encoding)
	if err != nil {
		return nil, err
	}
	for h, t := range req.Mapping {
		if h == RestKey {
			if t != TargetIgnore && t != targetField {
				return nil, fmt.Errorf("transfer: mapping %q must be \"ignore\" or \"field\": %w", RestKey, ErrInvalid)
			}
		} else if _, err := parseTarget(t, im.chans); err != nil {
			return nil, fmt.Errorf("transfer: mapping for column %q: %v: %w", h, err, ErrInvalid)
		}
	}
	id := newJobID()
	w := &chunkWriter{ctx: ctx, rdb: im.rdb, key: func(n int) string { return importFileKey(id, n) }, ttl: im.opt.Retention, limit: im.opt.UploadLimit}
	discard := func() { _ = deleteChunks(context.WithoutCancel(ctx), im.rdb, w.key, w.n+1) }
	if err := w.readFrom(file); err != nil {
		discard()
		return nil, err
	}
	if w.size == 0 {
		return nil, fmt.Errorf("transfer: the file is empty: %w", ErrBadFile)
	}
	head, err := im.rdb.GetRange(ctx, importFileKey(id, 0), 0, 7).Bytes()
	if err != nil {
		discard()
		return nil, fmt.Errorf("transfer: read back the upload: %w", err)
	}
	if format, err = sniffFormat(head, format); err != nil {
		discard()
		return nil, err
	}
	mapping, _ := json.Marshal(req.Mapping)
	if format == FormatCSV {
		rs, err := newCSVRows(&chunkReader{ctx: ctx, rdb: im.rdb, key: w.key, n: w.n}, enc)
		if err == nil {
			enc = rs.enc
			var header []string
			if header, err = readHeader(rs); err == nil {
				_, err = newMapper(header, req.Mapping, im.chans, req.TagSeparator, im.opt.NormalizePhone, id)
			}
		}
		if err != nil {
			discard()
			return nil, err
		}
	}
	now := im.opt.Now()
	_, err = im.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, importKey(id), "status", StatusQueued, "dry_run", boolString(req.DryRun), "format", format, "encoding", enc,
			"file_name", req.FileName, "size", w.size, "chunks", w.n, "by", req.By, "created_at", msString(now),
			"mapping", string(mapping), "tag_sep", req.TagSeparator)
		p.Expire(ctx, importKey(id), im.opt.Retention)
		return nil
	})
	if err == nil {
		task, opts := jobTask(TaskImport, id, im.opt.Queue)
		_, err = im.queue.EnqueueContext(ctx, task, opts...)
	}
	if err != nil {
		discard()
		_ = im.rdb.Del(context.WithoutCancel(ctx), importKey(id)).Err()
		return nil, fmt.Errorf("transfer: queue import %s: %w", id, err)
	}
	return im.Get(ctx, id)
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// readHeader returns the first row that has any value.
func readHeader(rs rows) ([]string, error) {
	for {
		_, cells, err := rs.next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("transfer: the file has no header row; the first row must name the columns (手机号, 姓名, ...): %w", ErrBadFile)
		}
		if err != nil {
			return nil, err
		}
		for _, c := range cells {
			if c != "" {
				return slices.Clone(cells), nil
			}
		}
	}
}

// Get reads a job's progress, with its first rejects and changes.
func (im *Imports) Get(ctx context.Context, id string) (*ImportJob, error) {
	if !validJobID(id) {
		return nil, fmt.Errorf("transfer: import %q: %w", id, ErrImportNotFound)
	}
	var (
		hash    *redis.MapStringStringCmd
		rejects *redis.StringSliceCmd
		changes *redis.StringSliceCmd
	)
	_, err := im.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hash = p.HGetAll(ctx, importKey(id))
		rejects = p.LRange(ctx, importRejectsKey(id), 0, jobErrorsShown-1)
		changes = p.LRange(ctx, importChangesKey(id), 0, changesKept-1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("transfer: read import %s: %w", id, err)
	}
	h := hash.Val()
	if h["status"] == "" {
		return nil, fmt.Errorf("transfer: import %s: %w", id, ErrImportNotFound)
	}
	size, _ := strconv.ParseInt(h["size"], 10, 64)
	j := &ImportJob{ID: id, Status: h["status"], DryRun: h["dry_run"] == "1", Format: h["format"], Encoding: h["encoding"],
		FileName: h["file_name"], Size: size, By: h["by"], CreatedAt: hashTime(h, "created_at"), FinishedAt: hashTime(h, "finished_at"),
		RowsTotal: hashInt(h, "rows_total"), RowsDone: hashInt(h, "rows_done"), Created: hashInt(h, "created"), Updated: hashInt(h, "updated"),
		Unchanged: hashInt(h, "unchanged"), Rejected: hashInt(h, "rejected"), Error: h["error"], Errors: []Reject{}, Changes: []ChangeSummary{}}
	for _, raw := range rejects.Val() {
		var r Reject
		if json.Unmarshal([]byte(raw), &r) == nil {
			j.Errors = append(j.Errors, r)
		}
	}
	for _, raw := range changes.Val() {
		var c ChangeSummary
		if json.Unmarshal([]byte(raw), &c) == nil {
			j.Changes = append(j.Changes, c)
		}
	}
	return j, nil
}

// Register adds the import task handler to an asynq mux.
func (im *Imports) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskImport, func(ctx context.Context, t *asynq.Task) error {
		id, err := taskJob(t)
		if err != nil {
			return err
		}
		return im.Run(ctx, id)
	})
}
