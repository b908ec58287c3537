package templates

// Every key of one template carries the hash tag {tpl:<id>}, so the save
// and publish scripts touch a single Cluster slot. The id index lives
// outside them and is written before the script (see Store.Save).

// templateKeys names the keys of one template.
type templateKeys struct {
	cur    string // {tpl:ID}         hash: newest and published version records and numbers
	seq    string // {tpl:ID}:seq     version counter, only ever incremented
	hist   string // {tpl:ID}:hist    list of version records, newest first
	pubs   string // {tpl:ID}:pubs    hash: version -> its last publish (when, who)
	publog string // {tpl:ID}:publog  list of every publish, newest first
}

func keysFor(id string) templateKeys {
	p := "{tpl:" + id + "}"
	return templateKeys{cur: p, seq: p + ":seq", hist: p + ":hist", pubs: p + ":pubs", publog: p + ":publog"}
}

// indexKey is the set of every saved template id, for List.
const indexKey = "tpl:ids"
