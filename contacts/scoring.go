package contacts

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Scoring holds the lead-scoring rules: points per event type and the score
// bands that move a contact forward through the lifecycle.
type Scoring struct {
	Events map[string]int `yaml:"events"`
	Bands  Bands          `yaml:"bands"`
}

// Bands are score thresholds; Hot must be above Warm.
type Bands struct {
	Hot  int `yaml:"hot"`
	Warm int `yaml:"warm"`
}

// DefaultScoring is the contract's default: whitepaper_download +10,
// webinar_attended +20; 80 and above is hot (sql), 50 to 79 warm (mql).
func DefaultScoring() Scoring {
	return Scoring{Events: map[string]int{"whitepaper_download": 10, "webinar_attended": 20}, Bands: Bands{Hot: 80, Warm: 50}}
}

var eventTypeName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// LoadScoring reads rules from a YAML file; unknown keys and bad values are
// errors naming the file.
func LoadScoring(path string) (Scoring, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scoring{}, fmt.Errorf("scoring rules: %w", err)
	}
	var s Scoring
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Scoring{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return Scoring{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Validate reports every problem at once.
func (s Scoring) Validate() error {
	var errs []error
	for name, pts := range s.Events {
		if !eventTypeName.MatchString(name) {
			errs = append(errs, fmt.Errorf("events: %q is not an event type (lowercase letters, digits, _.:-)", name))
		}
		if pts < -1000 || pts > 1000 {
			errs = append(errs, fmt.Errorf("events.%s: %d points is outside -1000..1000", name, pts))
		}
	}
	if s.Bands.Warm <= 0 || s.Bands.Hot <= s.Bands.Warm {
		errs = append(errs, fmt.Errorf("bands: need 0 < warm < hot, got warm %d and hot %d", s.Bands.Warm, s.Bands.Hot))
	}
	return errors.Join(errs...)
}

// Points is what an event of this type adds to the score.
func (s Scoring) Points(eventType string) int { return s.Events[eventType] }

// StageFor is the stage a score earns ("" below warm).
func (s Scoring) StageFor(score int) string {
	switch {
	case s.Bands.Hot <= 0: // no rules: scoring moves no one
	case score >= s.Bands.Hot:
		return StageSQL
	case score >= s.Bands.Warm:
		return StageMQL
	}
	return ""
}

// stageRank orders the lifecycle; promotions only move forward.
var stageRank = map[string]int{StageProspect: 1, StageMQL: 2, StageSQL: 3, StageCustomer: 4}

// Promotes reports whether moving from stage cur to next is forward.
func Promotes(cur, next string) bool { return stageRank[next] > stageRank[cur] }
