// Package transfer moves contacts in and out of the gateway in bulk: it
// imports CSV and XLSX lists (the CRM exports, trade-show scans and web-form
// dumps marketing teams arrive with) and exports any audience to CSV or
// XLSX, each as a background job on the same Redis, so any gateway process
// can run it and a crash resumes it.
//
// An import runs in two passes over the uploaded file, which is kept in
// Redis in chunks and streamed, never loaded whole (an XLSX file is a zip
// archive and needs random access, so that one is read into memory, bounded
// by the upload limit). The first pass reads every row without writing:
// a bad header, encoding or format fails the whole job before any contact
// changes, and per-row problems (a bad phone number, an owner that is not a
// WeCom userid, a row naming an identity an earlier row named) become
// rejections with their line, column and reason. The second pass applies
// the remaining rows, each as one contacts.Change, so a row is applied
// whole or not at all.
//
// Idempotency is "compare before writing": each row is compared with the
// contact its identities lead to, and only what differs is written. A
// re-import of the same file finds nothing to change and writes nothing;
// a dry run stops after the comparison. The Change also carries the event
// id "import:<job>:<line>", so a row applied again after a crash adds no
// second timeline entry.
//
// transfer imports only contacts among the domain packages: phone
// normalisation and audience resolution are handed in by the caller.
package transfer
