package dialogs

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// TemplateExists says whether a template id exists; every template a
	// script sends is checked with it. Nil skips the check (for example
	// when templates live in a store that is not reachable yet).
	TemplateExists func(id string) bool
}

// Library is one consistent set of scripts, validated together. It never
// changes after Load; a reload builds a new Library and hands it to
// Engine.SetLibrary, while sessions keep the version they started with.
type Library struct {
	scripts map[string]*Script
	ordered []*Script // trigger order: priority high to low, then id
}

// Script returns the script with the given id.
func (l *Library) Script(id string) (*Script, bool) {
	s, ok := l.scripts[id]
	return s, ok
}

// Scripts lists the scripts sorted by id.
func (l *Library) Scripts() []*Script {
	out := make([]*Script, 0, len(l.scripts))
	for _, s := range l.scripts {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *Script) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Load reads every *.yaml and *.yml file in dir (one script per file, not
// recursive) and validates them together. On any problem it returns a
// Problems error listing all of them with file and line, and no Library.
func Load(dir string, opts LoadOptions) (*Library, error) {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return nil, Problems{{File: dir, Message: "dialog folder does not exist or is not a folder; set dialogs.dir in the config"}}
	}
	lib, err := LoadFS(os.DirFS(dir), opts)
	var ps Problems
	if errors.As(err, &ps) {
		for i := range ps {
			ps[i].File = path.Join(dir, ps[i].File)
		}
		return nil, ps
	}
	return lib, err
}

// LoadFS is Load over any file system (tests, embedded defaults).
func LoadFS(fsys fs.FS, opts LoadOptions) (*Library, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, Problems{{File: ".", Message: "cannot list the dialog folder: " + err.Error()}}
	}
	var probs Problems
	var parsed []*parser
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			probs = append(probs, Problem{File: name, Message: "cannot read: " + err.Error()})
			continue
		}
		if s, p := parseScript(name, data, opts, &probs); s != nil {
			parsed = append(parsed, p)
		}
	}
	lib := &Library{scripts: map[string]*Script{}}
	for _, p := range parsed {
		s := p.s
		if s.ID == "" {
			continue
		}
		if prev, dup := lib.scripts[s.ID]; dup {
			p.errf(p.idNode, "script id %q is also used by %s; each script needs its own id", s.ID, prev.File)
			continue
		}
		lib.scripts[s.ID] = s
	}
	for _, p := range parsed {
		for _, st := range p.starts {
			if _, ok := lib.scripts[st.name]; !ok {
				p.errf(st.node, "start: script %q does not exist in this folder%s", st.name, suggest(st.name, keys(lib.scripts)))
			}
		}
		checkReachable(p)
	}
	checkLoops(lib, &probs)
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b Problem) int {
			return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, probs
	}
	for _, s := range lib.scripts {
		lib.ordered = append(lib.ordered, s)
	}
	slices.SortFunc(lib.ordered, func(a, b *Script) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), strings.Compare(a.ID, b.ID))
	})
	return lib, nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// compileStored rebuilds a script version from the source a session stored
// when it started, after a restart or a reload dropped it. Templates and
// other scripts are not checked again: the version was valid when it ran.
func compileStored(id string, version int, src []byte) (*Script, error) {
	var probs Problems
	s, p := parseScript(id+".yaml", src, LoadOptions{}, &probs)
	if s != nil {
		checkReachable(p)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	if s.ID != id || s.Version != version {
		return nil, fmt.Errorf("stored source of %s is %s", versionKey(id, version), s.Key())
	}
	return s, nil
}

// successors lists where a step can lead within its script (toEnd left
// out) and the script a start action moves to ("" when none).
func (st *step) successors() (out []target, start string) {
	add := func(t target) {
		if t >= 0 && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	switch st.kind {
	case kindSend:
		add(st.next)
	case kindDo:
		if n := len(st.actions); n > 0 && st.actions[n-1].terminal() {
			if st.actions[n-1].kind == actStart {
				start = st.actions[n-1].str
			}
			return out, start
		}
		add(st.next)
	case kindBranch:
		for _, c := range st.branch {
			add(c.next)
		}
		if n := len(st.branch); n == 0 || !st.branch[n-1].cond.isDefault() {
			add(st.next)
		}
	case kindAsk:
		a := st.ask
		for _, c := range a.choices {
			add(c.next)
		}
		for _, k := range a.keywords {
			add(k.next)
		}
		for _, pc := range a.patterns {
			add(pc.next)
		}
		if a.capture != nil {
			add(a.capture.next)
		}
		if a.timeout > 0 {
			add(a.onTimeout)
		}
		add(a.fallback)
	case kindWait:
		add(st.wait.onReply)
		add(st.wait.onTimeout)
		for _, k := range st.wait.keywords {
			add(k.next)
		}
	}
	return out, start
}

// checkReachable reports steps that no path from the start reaches.
func checkReachable(p *parser) {
	s := p.s
	if len(s.steps) == 0 || s.start < 0 || int(s.start) >= len(s.steps) {
		return
	}
	seen := make([]bool, len(s.steps))
	queue := []target{s.start}
	seen[s.start] = true
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		next, _ := s.steps[cur].successors()
		for _, t := range next {
			if int(t) < len(seen) && !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	for i, ok := range seen {
		if !ok && s.steps[i].id != "" && s.index[s.steps[i].id] == i {
			st := &s.steps[i]
			*p.probs = append(*p.probs, Problem{File: s.File, Line: st.line, Column: st.col,
				Message: fmt.Sprintf("step %q is never reached from the start; point a next: at it or remove it", st.id)})
		}
	}
}

type node struct {
	s *Script
	i int
}

// checkLoops reports every cycle of steps that runs without an ask or a
// wait: it would loop forever within one message. start: edges between
// scripts count, so two scripts starting each other are caught too.
func checkLoops(lib *Library, probs *Problems) {
	const (
		white = iota
		grey
		black
	)
	color := map[node]int{}
	var stack []node
	var visit func(n node)
	visit = func(n node) {
		color[n] = grey
		stack = append(stack, n)
		st := &n.s.steps[n.i]
		next, start := st.successors()
		var succ []node
		for _, t := range next {
			succ = append(succ, node{n.s, int(t)})
		}
		if t, ok := lib.scripts[start]; ok && len(t.steps) > 0 && t.start >= 0 {
			succ = append(succ, node{t, int(t.start)})
		}
		for _, m := range succ {
			if m.i >= len(m.s.steps) || m.s.steps[m.i].kind.waits() {
				continue
			}
			switch color[m] {
			case white:
				visit(m)
			case grey:
				var path []string
				for k := len(stack) - 1; k >= 0; k-- {
					path = append(path, stack[k].s.ID+"."+stack[k].s.steps[stack[k].i].id)
					if stack[k] == m {
						break
					}
				}
				slices.Reverse(path)
				ms := &m.s.steps[m.i]
				*probs = append(*probs, Problem{File: m.s.File, Line: ms.line, Column: ms.col,
					Message: fmt.Sprintf("steps loop without an ask or wait (%s -> %s); add a wait or end the loop", strings.Join(path, " -> "), m.s.ID+"."+ms.id)})
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	for _, s := range lib.Scripts() {
		for i := range s.steps {
			n := node{s, i}
			if color[n] == white && !s.steps[i].kind.waits() {
				visit(n)
			}
		}
	}
}
