package sms

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsUnsubscribe(t *testing.T) {
	inputs := map[string]bool{
		"TD": true, "td": true, "Td": true, " TD ": true, "TD。": true, "【TD】": true, "T": true, "t!": true,
		"N": true, "n": true, "退订": true, "退订！": true, "  退订 。": true, "UNSUBSCRIBE": true, "Unsubscribe.": true,
		"ＴＤ": true, "ｔｄ": true, "\u3000ＴＤ\u3000": true, "TD👍": true, "\u200bTD": true, "“TD”": true,
		"": false, "   ": false, "T D": false, "TDD": false, "退订了吗": false, "请退订": false, "No": false,
		"no thanks": false, "TD是什么": false, "DT": false, "unsubscribe me": false, "Y": false,
	}
	want := map[string]bool{}
	got := map[string]bool{}
	for in, w := range inputs {
		want[in] = w
		got[in] = IsUnsubscribe(in)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IsUnsubscribe (-want +got):\n%s", diff)
	}
}
