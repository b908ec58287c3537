package wecom

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

func TestMarkTag(t *testing.T) {
	tests := []struct {
		name        string
		add, remove []string
		wantBody    map[string]any
	}{
		{"add and remove", []string{"etAAAA1", "etAAAA2"}, []string{"etBBBB"},
			map[string]any{"userid": "zhangsan", "external_userid": "wmAbCdEf", "add_tag": []any{"etAAAA1", "etAAAA2"}, "remove_tag": []any{"etBBBB"}}},
		{"add only sends an empty remove list", []string{"etAAAA1"}, nil,
			map[string]any{"userid": "zhangsan", "external_userid": "wmAbCdEf", "add_tag": []any{"etAAAA1"}, "remove_tag": []any{}}},
		{"remove only", nil, []string{"etBBBB"},
			map[string]any{"userid": "zhangsan", "external_userid": "wmAbCdEf", "add_tag": []any{}, "remove_tag": []any{"etBBBB"}}},
	}
	s, st := senderAndStandIn(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.MarkTag(t.Context(), "zhangsan", "wmAbCdEf", tt.add, tt.remove); err != nil {
				t.Fatal(err)
			}
			calls, _ := st.taken()
			want := []apiCall{{Method: "POST", Path: "/cgi-bin/externalcontact/mark_tag", Query: "access_token=TOKEN-1", Body: tt.wantBody}}
			if diff := cmp.Diff(want, calls); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("no relationship any more", func(t *testing.T) {
		st.answer("/cgi-bin/externalcontact/mark_tag", weComError(84061))
		err := s.MarkTag(t.Context(), "zhangsan", "wmGone", []string{"etAAAA1"}, nil)
		if diff := cmp.Diff(sendErr{channels.Permanent, "84061"}, asSendErr(t, err)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		st.taken()
	})

	t.Run("refused before calling", func(t *testing.T) {
		for _, args := range [][2]string{{"", "wm1"}, {"zhangsan", ""}} {
			if err := s.MarkTag(t.Context(), args[0], args[1], []string{"et1"}, nil); !errors.Is(err, ErrIncomplete) {
				t.Errorf("MarkTag(%q, %q) = %v, want ErrIncomplete", args[0], args[1], err)
			}
		}
		if err := s.MarkTag(t.Context(), "zhangsan", "wm1", nil, []string{}); !errors.Is(err, ErrIncomplete) {
			t.Errorf("no tags: %v, want ErrIncomplete", err)
		}
		if calls, _ := st.taken(); len(calls) != 0 {
			t.Errorf("%d calls reached WeCom", len(calls))
		}
	})
}
