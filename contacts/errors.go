package contacts

import "errors"

// Sentinel errors, wrapped with details. The HTTP layer maps them with
// errors.Is to stable codes, so their meaning must not change.
var (
	// ErrNotFound means no contact is known by the identity or id given.
	ErrNotFound = errors.New("contact not found")
	// ErrInvalid means the input was refused before anything was written;
	// the wrapped message names the field and what it must look like.
	ErrInvalid = errors.New("invalid contact input")
	// ErrContention means other changes to the same contacts kept
	// invalidating a merge or link; nothing was lost and retrying is safe.
	ErrContention = errors.New("contacts changed concurrently, retry")
	// ErrTagIndex means the change itself was stored (the Result is valid)
	// but the tag index could not be updated; RepairTagIndex on the contact
	// fixes it, and so does applying the same event again.
	ErrTagIndex = errors.New("tag index not updated")
)
