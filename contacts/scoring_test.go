package contacts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShippedScoringHasTheContractDefaults(t *testing.T) {
	s, err := LoadScoring("../configs/scoring.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"whitepaper": s.Points("whitepaper_download"), "webinar": s.Points("webinar_attended"), "bands": s.Bands}
	want := map[string]any{"whitepaper": 10, "webinar": 20, "bands": Bands{Hot: 80, Warm: 50}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shipped rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DefaultScoring().Bands, s.Bands); diff != "" {
		t.Errorf("defaults and shipped file disagree (-want +got):\n%s", diff)
	}
}

func TestStageForAndPromotes(t *testing.T) {
	s := DefaultScoring()
	tests := []struct {
		score int
		want  string
	}{{0, ""}, {49, ""}, {50, StageMQL}, {79, StageMQL}, {80, StageSQL}, {200, StageSQL}}
	for _, tt := range tests {
		if got := s.StageFor(tt.score); got != tt.want {
			t.Errorf("StageFor(%d) = %q, want %q", tt.score, got, tt.want)
		}
	}
	if (Scoring{}).StageFor(100) != "" {
		t.Error("empty rules promoted a contact")
	}
	if !Promotes(StageProspect, StageSQL) || Promotes(StageCustomer, StageSQL) || Promotes(StageSQL, StageSQL) {
		t.Error("Promotes must only move forward")
	}
}

func TestLoadScoringRejectsBadRules(t *testing.T) {
	p := filepath.Join(t.TempDir(), "scoring.yaml")
	if err := os.WriteFile(p, []byte("events:\n  Bad Name: 5\n  ok: 5000\nbands: {hot: 40, warm: 50}\nextra: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadScoring(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("LoadScoring = %v, want the unknown key named with the file", err)
	}
	if err := os.WriteFile(p, []byte("events:\n  Bad Name: 5\n  ok: 5000\nbands: {hot: 40, warm: 50}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadScoring(p)
	for _, want := range []string{`"Bad Name"`, "5000", "warm 50 and hot 40"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadScoring = %v, want it to mention %s", err, want)
		}
	}
}
