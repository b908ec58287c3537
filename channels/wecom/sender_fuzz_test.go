package wecom

import (
	"errors"
	"strconv"
	"testing"

	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work/externalcontact"
	"github.com/silenceper/wechat/v2/work/kf"
	wxmessage "github.com/silenceper/wechat/v2/work/message"

	"github.com/journeygate/gateway/channels"
)

// FuzzAnswer feeds arbitrary answer bodies, as WeCom (or a proxy in the
// way) might send them, through the same decoding and reading the sender
// uses. Whatever comes back is either a receipt or a SendError whose kind
// the errcode table allows; nothing panics.
func FuzzAnswer(f *testing.F) {
	for _, a := range okAnswers {
		f.Add([]byte(a), "zhangsan")
	}
	f.Add([]byte(weComError(42001)), "zhangsan")
	f.Add([]byte(weComError(95018)), "wm1")
	f.Add([]byte(`{"errcode":0,"errmsg":"ok","invaliduser":"ZHANGSAN|lisi","msgid":"m1"}`), "zhangsan")
	f.Add([]byte(`{"errcode":0,"errmsg":"ok","fail_list":["wm1"],"msgid":"x"}`), "wm1")
	f.Add([]byte(`{"errcode":"0"}`), "x")
	f.Add([]byte(`{"errcode":1e3}`), "x")
	f.Add([]byte("<html>502</html>"), "x")

	f.Fuzz(func(t *testing.T, body []byte, to string) {
		m := &channels.Outbound{To: to}

		app := &wxmessage.SendResponse{}
		rec, err := readAnswer(body, app, apiMessageSend, func() (channels.Receipt, error) { return appOutcome(app, m) })
		checkAnswer(t, rec, err)
		if err == nil && rec.PlatformID != app.MsgID {
			t.Fatalf("receipt %+v does not carry msgid %q", rec, app.MsgID)
		}

		task := &externalcontact.AddMsgTemplateResponse{}
		rec, err = readAnswer(body, task, apiGroupTask, func() (channels.Receipt, error) { return groupTaskOutcome(task, m) })
		checkAnswer(t, rec, err)
		for _, id := range task.FailList {
			if err == nil && id == to {
				t.Fatalf("%q is in fail_list but the task counts as sent", to)
			}
		}

		kfAnswer := &kf.SendMsgSchema{}
		rec, err = readAnswer(body, kfAnswer, apiKFSend, func() (channels.Receipt, error) { return channels.Receipt{PlatformID: kfAnswer.MsgID}, nil })
		checkAnswer(t, rec, err)
	})
}

// readAnswer decodes body as the SDK does and reads it as the sender does.
func readAnswer(body []byte, into any, api string, outcome func() (channels.Receipt, error)) (channels.Receipt, error) {
	if err := util.DecodeWithError(body, into, api); err != nil {
		return channels.Receipt{}, classify(api, err)
	}
	return outcome()
}

func checkAnswer(t *testing.T, rec channels.Receipt, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *channels.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a SendError", err)
	}
	if rec != (channels.Receipt{}) {
		t.Fatalf("a failure came with a receipt %+v", rec)
	}
	switch se.Kind {
	case channels.Transient, channels.Permanent, channels.OutsideWindow:
	default:
		t.Fatalf("kind %v for %v", se.Kind, err)
	}
	if code, perr := strconv.ParseInt(se.Code, 10, 64); perr == nil {
		if rule, ok := errcodeRules[code]; ok && rule.kind != se.Kind {
			t.Fatalf("errcode %d gave %v, the table says %v", code, se.Kind, rule.kind)
		}
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("errcode %d does not wrap ErrRejected: %v", code, err)
		}
	} else if se.Code == "" && se.Kind != channels.Transient {
		t.Fatalf("an answer without an errcode is %v, want transient: %v", se.Kind, err)
	}
}
