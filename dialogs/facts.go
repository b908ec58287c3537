package dialogs

import (
	"fmt"
	"slices"
)

// branch picks the first case whose tests hold, else the step's next; a
// contact that cannot be read ends the session.
func (t *turn) branch(st *step) target {
	for i := range st.branch {
		ok, err := st.branch[i].cond.eval(t)
		if err != nil {
			t.fail(fmt.Errorf("dialogs: contact %s: %s step %s: read the contact: %w: %w", t.contactID, t.sc.Key(), st.id, ErrAction, err))
			return toEnd
		}
		if ok {
			return st.branch[i].next
		}
	}
	return st.next
}

// facts for branch conditions: the inbound's view of the contact (or the
// profile when a timeout runs the step), plus this call's own changes.

func (t *turn) loadProfile() (*Profile, error) {
	if t.profile == nil {
		p := Profile{}
		if t.in != nil {
			p = Profile{Tags: t.in.Tags, Score: t.in.Score, Stage: t.in.Stage}
		} else {
			var err error
			if p, err = t.e.actions.Profile(t.ctx, t.contactID); err != nil {
				return nil, err
			}
		}
		t.profile = &p
	}
	return t.profile, nil
}

func (t *turn) hasTag(tag string) (bool, error) {
	if v, ok := t.tagChanges[tag]; ok {
		return v, nil
	}
	p, err := t.loadProfile()
	if err != nil {
		return false, err
	}
	return slices.Contains(p.Tags, tag), nil
}

func (t *turn) score() (int, error) {
	p, err := t.loadProfile()
	if err != nil {
		return 0, err
	}
	return p.Score + t.scoreDelta, nil
}

func (t *turn) stage() (string, error) {
	if t.stageSet != "" {
		return t.stageSet, nil
	}
	p, err := t.loadProfile()
	if err != nil {
		return "", err
	}
	return p.Stage, nil
}
