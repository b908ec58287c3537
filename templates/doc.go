// Package templates keeps message templates with their full history and
// renders them safely for each channel.
//
// A template holds one body per channel (WeCom, official account, SMS,
// email). Every save is a new numbered version; old versions stay readable,
// so a message can always be traced to the exact text it used.
//
// Template text is Go template syntax written by marketing staff, so the
// renderer treats it as untrusted: bodies cannot call Go functions, include
// other templates or define new ones, and only a short list of functions is
// known (listed below). Rendering is bounded by work, not by abandoning a
// goroutine (which would keep burning CPU): a loop may only walk a list or
// map from the data, and pays for all its iterations from a per-render
// step budget before the first one runs, so an oversized loop is refused
// before it starts. A wall-clock deadline, checked on every iteration, is
// the backstop for steps that cost more than the budget assumes. Output is
// capped per field at the platform's limit, and the data is copied into
// plain strings, numbers, booleans, times, lists and maps first, so a
// template reaches no other Go values or methods.
//
// Functions available in template text:
//
//	default D V    V, or D when V is missing, nil, "" or an empty list/map
//	upper S, lower S, trim S
//	truncate N S   S cut to at most N characters, ending in "…" when cut
//	date LAYOUT V  a time, RFC 3339 string or unix seconds in Go layout
//	urlquery S     S escaped for a URL query (not in email HTML, which
//	               escapes by context on its own)
//	and or not eq ne lt le gt ge len index
//
// A missing variable is an error that names it, except where the template
// asks for it to be optional: as the value of default, and in the condition
// of if, with and range ({{if .coupon}}, {{range .items}}), where it counts
// as empty. A variable set to null counts as missing.
package templates
