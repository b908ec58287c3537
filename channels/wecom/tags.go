package wecom

import (
	"context"

	wcontext "github.com/silenceper/wechat/v2/work/context"
	"github.com/silenceper/wechat/v2/work/externalcontact"
)

const apiMarkTag = "externalcontact/mark_tag"

// MarkTag mirrors our tags onto the customer as the rep userID sees them:
// add and remove hold WeCom corp tag ids (et…), not our tag names. A
// failure is a *channels.SendError, so the caller can tell a retry from a
// lost contact (84061) the same way as for sends.
func (s *Sender) MarkTag(ctx context.Context, userID, externalUserID string, add, remove []string) error {
	if userID == "" || externalUserID == "" {
		return invalid(ErrIncomplete, "mark_tag needs the rep's userid and the customer's external_userid")
	}
	if len(add) == 0 && len(remove) == 0 {
		return invalid(ErrIncomplete, "mark_tag needs at least one tag id to add or remove")
	}
	req := externalcontact.MarkTagRequest{
		UserID:         userID,
		ExternalUserID: externalUserID,
		AddTag:         nonNil(add),
		RemoveTag:      nonNil(remove),
	}
	_, err := call(ctx, s, apiMarkTag, func(_ context.Context, sdk *wcontext.Context, _ string) (struct{}, error) {
		return struct{}{}, externalcontact.NewClient(sdk).MarkTag(req)
	})
	return err
}

// nonNil sends an empty list as [] rather than null.
func nonNil(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
