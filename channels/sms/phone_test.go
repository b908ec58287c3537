package sms

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13800138000", "+8613800138000"},
		{"+86 138 0013 8000", "+8613800138000"},
		{"86-138-0013-8000", "+8613800138000"},
		{"008613800138000", "+8613800138000"},
		{"0086 138.0013.8000", "+8613800138000"},
		{"(+86) 19912345678", "+8619912345678"},
		{" 8613800138000 ", "+8613800138000"},
		{"１３８００１３８０００", "+8613800138000"},
		{"＋８６ １３８００１３８０００", "+8613800138000"},
		{"+8613800138000", "+8613800138000"},
		{"+852 9123 4567", "+85291234567"},
		{"00852-9123-4567", "+85291234567"},
		{"+1 (415) 555-2671", "+14155552671"},
		{"+44 20 7946 0958", "+442079460958"},
	}
	var got, want []string
	for _, tt := range tests {
		p, err := NormalizePhone(tt.in)
		if err != nil {
			p = "error: " + err.Error()
		}
		got = append(got, tt.in+" -> "+p)
		want = append(want, tt.in+" -> "+tt.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NormalizePhone (-want +got):\n%s", diff)
	}
}

func TestNormalizePhoneRejects(t *testing.T) {
	for _, in := range []string{
		"", "   ", "+", "12345678901", "23800138000", "1380013800", "138001380001",
		"1381111****", "tel:13800138000", "+86 10 1234 5678", "+86", "86 1234567890",
		"+0086 13800138000", "++8613800138000", "86+13800138000", "0013800138000x",
		"+1234567", "+1234567890123456", "+0 123 4567 890", "85291234567",
		strings.Repeat("1", 65),
	} {
		got, err := NormalizePhone(in)
		if !errors.Is(err, ErrBadPhone) {
			t.Errorf("NormalizePhone(%q) = %q, %v; want ErrBadPhone", in, got, err)
			continue
		}
		if !strings.Contains(err.Error(), "13800138000") {
			t.Errorf("NormalizePhone(%q) error %q does not show the accepted forms", in, err)
		}
	}
}
