package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/journeygate/gateway/configs"
	"github.com/journeygate/gateway/contacts"
	"github.com/journeygate/gateway/dialogs"
	"github.com/journeygate/gateway/templates"
)

// check validates everything gatewayd would load, without Redis: the
// configuration, the template files in templatesDir (what `make run` seeds
// and operators keep under version control) and the dialog scripts, whose
// template references are checked against those files. It returns every
// problem, each naming its file (and line where the format has lines).
func check(cfg configs.Config, cfgErr error, templatesDir string) []string {
	var problems []string
	if cfgErr != nil {
		problems = append(problems, strings.Split(cfgErr.Error(), "\n")...)
	}
	ids, tplProblems := checkTemplates(templatesDir)
	problems = append(problems, tplProblems...)
	opts := dialogs.LoadOptions{}
	if ids != nil {
		opts.TemplateExists = func(id string) bool { return ids[id] }
	}
	if _, err := os.Stat(cfg.Dialogs.ScoringFile); err == nil {
		if _, err := contacts.LoadScoring(cfg.Dialogs.ScoringFile); err != nil {
			problems = append(problems, strings.Split(err.Error(), "\n")...)
		}
	}
	if _, err := dialogs.Load(cfg.Dialogs.Dir, opts); err != nil {
		var ps dialogs.Problems
		if errors.As(err, &ps) {
			for _, p := range ps {
				problems = append(problems, p.String())
			}
		} else {
			problems = append(problems, err.Error())
		}
	}
	return problems
}

// checkTemplates validates every <id>.json in dir; ids is nil when dir does
// not exist (dialog template references are then not checked).
func checkTemplates(dir string) (map[string]bool, []string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		if _, statErr := os.Stat(dir); statErr != nil {
			return nil, nil
		}
	}
	ids := map[string]bool{}
	var problems []string
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".json")
		ids[id] = true
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", f, err))
			continue
		}
		var t templates.Template
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", f, lineOf(data, dec.InputOffset()), err))
			continue
		}
		t.ID = id
		if err := templates.Validate(t); err != nil {
			var ie *templates.InvalidError
			if errors.As(err, &ie) {
				for _, p := range ie.Problems {
					problems = append(problems, fmt.Sprintf("%s: %s: %s", f, p.Path, p.Message))
				}
			} else {
				problems = append(problems, fmt.Sprintf("%s: %v", f, err))
			}
		}
	}
	return ids, problems
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// loadScoring reads the scoring rules; a missing file means the contract's
// defaults, so a fresh install scores out of the box.
func loadScoring(path string, log *zap.Logger) (contacts.Scoring, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		log.Info("no scoring file; using the default rules", zap.String("path", path))
		return contacts.DefaultScoring(), nil
	}
	return contacts.LoadScoring(path)
}
