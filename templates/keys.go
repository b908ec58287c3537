package templates

// Every key of one template carries the hash tag {tpl:<id>}, so the save
// script touches a single Cluster slot. The id index lives outside them
// and is written before the script (see Store.Save).

// templateKeys names the keys of one template.
type templateKeys struct {
	cur  string // {tpl:ID}        hash: json, sum, digest, version of the current version
	seq  string // {tpl:ID}:seq    version counter, only ever incremented
	hist string // {tpl:ID}:hist   list of version records, newest first
}

func keysFor(id string) templateKeys {
	p := "{tpl:" + id + "}"
	return templateKeys{cur: p, seq: p + ":seq", hist: p + ":hist"}
}

// indexKey is the set of every saved template id, for List.
const indexKey = "tpl:ids"
