package transfer

import "errors"

// Sentinel errors, wrapped with details. The HTTP layer maps them to stable
// codes with errors.Is, so their meaning must not change.
var (
	// ErrBadFile means the file as a whole cannot be imported: not CSV or
	// XLSX, not in the encoding given or detected, a header that maps no
	// identity or has columns nobody mapped. Nothing was written.
	ErrBadFile = errors.New("the file cannot be imported")
	// ErrTooLarge means the upload is over the configured limit; what was
	// stored of it is deleted.
	ErrTooLarge = errors.New("the file is larger than the upload limit")
	// ErrInvalid means an option (mapping, encoding, format, fields) is
	// wrong; the message names it.
	ErrInvalid = errors.New("invalid transfer option")
	// ErrImportNotFound and ErrExportNotFound mean no job has that id (or it
	// expired after the retention time).
	ErrImportNotFound = errors.New("no such import job")
	ErrExportNotFound = errors.New("no such export job")
	// ErrNotReady means the export's file is not written yet, or the export
	// failed.
	ErrNotReady = errors.New("the export file is not ready")
)
