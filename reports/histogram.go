package reports

import (
	"math"
	"sort"
	"strconv"
	"time"
)

// Durations (time in a stage, time to follow a hand-off up) are kept as
// histograms with logarithmic buckets, four per doubling: bucket 0 holds
// everything under a second, bucket b >= 1 holds [2^((b-1)/4), 2^(b/4))
// seconds. A median read back is the bucket's geometric middle, so it is
// within a factor 2^(1/8) of the true median: about ±9 %, whether the stay
// was a minute or a month. A year needs about 100 buckets; a day's hash
// holds only the buckets that occurred.
const bucketsPerDoubling = 4

// bucketOf is the histogram bucket of d.
func bucketOf(d time.Duration) int {
	s := d.Seconds()
	if s < 1 {
		return 0
	}
	return 1 + int(math.Floor(bucketsPerDoubling*math.Log2(s)))
}

// bucketMiddle is the duration a bucket stands for in a median.
func bucketMiddle(b int) time.Duration {
	if b <= 0 {
		return 0
	}
	s := math.Exp2((float64(b) - 0.5) / bucketsPerDoubling)
	return time.Duration(s * float64(time.Second)).Round(time.Second)
}

// histogram counts durations by bucket.
type histogram map[int]int64

func (h histogram) add(field string, n int64) {
	b, err := strconv.Atoi(field)
	if err == nil {
		h[b] += n
	}
}

func (h histogram) count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// median is the lower median's bucket middle; ok is false when empty.
func (h histogram) median() (time.Duration, bool) {
	n := h.count()
	if n == 0 {
		return 0, false
	}
	buckets := make([]int, 0, len(h))
	for b := range h {
		buckets = append(buckets, b)
	}
	sort.Ints(buckets)
	want := (n + 1) / 2
	var seen int64
	for _, b := range buckets {
		if seen += h[b]; seen >= want {
			return bucketMiddle(b), true
		}
	}
	return 0, false
}
