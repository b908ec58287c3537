package outreach

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestListCampaigns(t *testing.T) {
	f := newCampaignFixture(t)
	got, err := f.cs.List(t.Context(), 0)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty list = %v, %v", got, err)
	}
	for _, id := range []string{"first", "second", "third"} {
		if _, err := f.cs.Create(t.Context(), abCampaign(id)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
	}
	if _, err := f.cs.Pause(t.Context(), "second"); err != nil {
		t.Fatal(err)
	}
	// A refused create is not listed.
	bad := abCampaign("bad")
	bad.Owner = "rep li"
	if _, err := f.cs.Create(t.Context(), bad); err == nil {
		t.Fatal("a campaign with an invalid owner was created")
	}
	summary := func(cs []*Campaign) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID+" "+string(c.Status)+" "+c.Name)
		}
		return out
	}
	for _, tt := range []struct {
		limit int
		want  []string
	}{
		{0, []string{"third scheduled Double 11", "second paused Double 11", "first scheduled Double 11"}},
		{2, []string{"third scheduled Double 11", "second paused Double 11"}},
	} {
		got, err := f.cs.List(t.Context(), tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, summary(got)); diff != "" {
			t.Errorf("limit %d (-want +got)\n%s", tt.limit, diff)
		}
	}
	// A record gone from Redis leaves the list.
	if err := f.rdb.Del(t.Context(), campaignKey("second")).Err(); err != nil {
		t.Fatal(err)
	}
	got, err = f.cs.List(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"third scheduled Double 11", "first scheduled Double 11"}, summary(got)); diff != "" {
		t.Errorf("after expiry (-want +got)\n%s", diff)
	}
	if n := f.rdb.ZCard(t.Context(), campaignsIndexKey).Val(); n != 2 {
		t.Errorf("index holds %d ids, want 2", n)
	}
}
