package reports

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMedianIsWithinNinePercent(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 90 * time.Second, 37 * time.Minute, 5 * time.Hour, 3 * 24 * time.Hour, 200 * 24 * time.Hour} {
		h := histogram{}
		h[bucketOf(d)]++
		got, ok := h.median()
		if !ok {
			t.Fatalf("%s: no median", d)
		}
		if ratio := float64(got) / float64(d); math.Abs(math.Log2(ratio)) > 1.0/8+1e-9 {
			t.Errorf("%s: median %s is off by a factor %.3f, more than 2^(1/8)", d, got, ratio)
		}
	}
}

func TestMedianPicksTheMiddleBucket(t *testing.T) {
	tests := []struct {
		name string
		durs []time.Duration
		want time.Duration
	}{
		{"odd", []time.Duration{time.Minute, time.Hour, 24 * time.Hour}, bucketMiddle(bucketOf(time.Hour))},
		{"even takes the lower", []time.Duration{time.Minute, time.Hour}, bucketMiddle(bucketOf(time.Minute))},
		{"under a second", []time.Duration{0, 10 * time.Millisecond, time.Hour}, 0},
	}
	for _, tt := range tests {
		h := histogram{}
		for _, d := range tt.durs {
			h[bucketOf(d)]++
		}
		got, _ := h.median()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: median (-want +got)\n%s", tt.name, diff)
		}
	}
}
