package transfer

import "strconv"

// Every key of one job carries the hash tag {imp:<id>} or {exp:<id>}, so a
// job's keys sit in one Cluster slot and a checkpoint is one MULTI.

// importKey is the hash of one import job: status, options and counters.
func importKey(id string) string { return "{imp:" + id + "}:job" }

// importFileKey is chunk n (from 0) of an import's uploaded file.
func importFileKey(id string, n int) string { return "{imp:" + id + "}:file:" + strconv.Itoa(n) }

// importRejectsKey is the list of an import's rejected rows, in file order,
// each a JSON Reject.
func importRejectsKey(id string) string { return "{imp:" + id + "}:rejects" }

// importChangesKey is the list of the first changes an import made (or, in
// a dry run, would make), each a JSON Change summary.
func importChangesKey(id string) string { return "{imp:" + id + "}:changes" }

// exportKey is the hash of one export job.
func exportKey(id string) string { return "{exp:" + id + "}:job" }

// exportFileKey is chunk n (from 0) of an export's file.
func exportFileKey(id string, n int) string { return "{exp:" + id + "}:file:" + strconv.Itoa(n) }
