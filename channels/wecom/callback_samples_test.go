package wecom

import (
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

// Tencent's published callback test settings.
const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testCorpID = "wx5823bf96d3bd56c7"
	testTS     = "1700000000"
	testNonce  = "1372623149"
)

var testNow = time.Unix(1700000000, 0)

func newTestCallback(t testing.TB, edit ...func(*CallbackConfig)) *Callback {
	t.Helper()
	cfg := CallbackConfig{Token: testToken, EncodingAESKey: testAESKey, CorpID: testCorpID, Now: func() time.Time { return testNow }}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := NewCallback(cfg)
	if err != nil {
		t.Fatalf("NewCallback: %v", err)
	}
	return c
}

func seal(t testing.TB, c *Callback, plain string) (body []byte, sig string) {
	t.Helper()
	body, sig, err := c.Seal([]byte(plain), testTS, testNonce)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return body, sig
}

// envelope builds the body WeCom posts around an Encrypt text, signed with
// the SDK's own Signature so tests do not trust the code under test.
func envelope(encrypt string) (body []byte, sig string) {
	body = []byte("<xml><ToUserName><![CDATA[" + testCorpID + "]]></ToUserName><Encrypt><![CDATA[" + encrypt +
		"]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>")
	return body, util.Signature(testToken, testTS, testNonce, encrypt)
}

var testAt = time.Unix(1700000000, 0).UTC()

type sample struct {
	name  string
	plain string
	want  channels.Event
}

// samples are callbacks shaped like WeCom's documented examples, with the
// Event each must become.
func samples() []sample {
	ev := func(id, typ string) channels.Event {
		return channels.Event{ID: id, Source: channels.WeCom, Type: typ, At: testAt}
	}
	withMember := func(e channels.Event, member, text string, props map[string]string) channels.Event {
		e.Member, e.Text, e.Props = member, text, props
		return e
	}
	withContact := func(e channels.Event, member, external string, props map[string]string) channels.Event {
		e.Member, e.Props = member, props
		e.Contact = []channels.Identity{{Kind: channels.ExternalUserID, Value: external}}
		return e
	}
	withProps := func(e channels.Event, props map[string]string) channels.Event {
		e.Props = props
		return e
	}
	contact := func(changeType, extra string) string {
		return `<xml><ToUserName><![CDATA[ww1234]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>` +
			`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>` +
			`<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[` + changeType + `]]></ChangeType>` +
			`<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[wmEXT001]]></ExternalUserID>` + extra + `</xml>`
	}
	contactID := func(changeType string) string {
		return "wecom:ev:sys|1700000000|change_external_contact|" + changeType + "|zhangsan|wmEXT001||"
	}
	msg := func(msgType, body string) string {
		return `<xml><ToUserName><![CDATA[ww1234]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>` +
			`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[` + msgType + `]]></MsgType>` + body +
			`<MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>`
	}
	msgProps := func(msgType string, kv ...string) map[string]string {
		p := map[string]string{"msg_type": msgType, "msg_id": "1234567890123456", "agent_id": "1000002"}
		for i := 0; i < len(kv); i += 2 {
			p[kv[i]] = kv[i+1]
		}
		return p
	}
	const msgID = "wecom:msg:1234567890123456"
	return []sample{
		{"text message", msg("text", `<Content><![CDATA[报价单发我一下]]></Content>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "报价单发我一下", msgProps("text"))},
		{"text with entities", msg("text", `<Content>a &lt;b&gt; &amp; c</Content>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "a <b> & c", msgProps("text"))},
		{"image", msg("image", `<PicUrl><![CDATA[https://p.qpic.cn/x.jpg]]></PicUrl><MediaId><![CDATA[media_1]]></MediaId>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "[image]", msgProps("image", "pic_url", "https://p.qpic.cn/x.jpg", "media_id", "media_1"))},
		{"voice", msg("voice", `<MediaId><![CDATA[media_2]]></MediaId><Format><![CDATA[amr]]></Format>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "[voice]", msgProps("voice", "media_id", "media_2"))},
		{"video", msg("video", `<MediaId><![CDATA[media_3]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "[video]", msgProps("video", "media_id", "media_3"))},
		{"location", msg("location", `<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[广州市海珠区]]></Label><AppType><![CDATA[wxwork]]></AppType>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "[location] 广州市海珠区",
				msgProps("location", "location_x", "23.134521", "location_y", "113.358803", "label", "广州市海珠区"))},
		{"link with escaped url", msg("link", `<Title>Q3 &amp; Q4 plan</Title><Description><![CDATA[d]]></Description><Url>https://example.com/?a=1&amp;b=2</Url><PicUrl><![CDATA[https://example.com/p.png]]></PicUrl>`),
			withMember(ev(msgID, channels.TypeMemberMessage), "lisi", "[link] Q3 & Q4 plan",
				msgProps("link", "title", "Q3 & Q4 plan", "url", "https://example.com/?a=1&b=2", "pic_url", "https://example.com/p.png"))},
		{"contact added", contact("add_external_contact", `<State><![CDATA[expo2026]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>`),
			withContact(ev(contactID("add_external_contact"), channels.TypeContactAdded), "zhangsan", "wmEXT001",
				map[string]string{"state": "expo2026", "welcome_code": "WELCOMECODE"})},
		{"contact added without state or welcome code", contact("add_external_contact", ""),
			withContact(ev(contactID("add_external_contact"), channels.TypeContactAdded), "zhangsan", "wmEXT001", nil)},
		{"contact half added", contact("add_half_external_contact", `<State><![CDATA[ad_7]]></State><WelcomeCode><![CDATA[WC2]]></WelcomeCode>`),
			withContact(ev(contactID("add_half_external_contact"), channels.TypeContactHalfAdded), "zhangsan", "wmEXT001",
				map[string]string{"state": "ad_7", "welcome_code": "WC2"})},
		{"contact edited", contact("edit_external_contact", ""),
			withContact(ev(contactID("edit_external_contact"), channels.TypeContactEdited), "zhangsan", "wmEXT001", nil)},
		{"contact deleted by transfer", contact("del_external_contact", `<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>`),
			withContact(ev(contactID("del_external_contact"), channels.TypeContactDeleted), "zhangsan", "wmEXT001",
				map[string]string{"source": "DELETE_BY_TRANSFER"})},
		{"contact left", contact("del_follow_user", ""),
			withContact(ev(contactID("del_follow_user"), channels.TypeContactLeft), "zhangsan", "wmEXT001", nil)},
		{"transfer failed", contact("transfer_fail", `<FailReason><![CDATA[customer_refused]]></FailReason>`),
			withContact(ev(contactID("transfer_fail"), channels.TypeContactTransferFailed), "zhangsan", "wmEXT001",
				map[string]string{"fail_reason": "customer_refused"})},
		{"tag created in a strategy group",
			`<xml><ToUserName><![CDATA[ww1234]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>` +
				`<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[etTAG01]]></Id>` +
				`<TagType><![CDATA[tag]]></TagType><ChangeType><![CDATA[create]]></ChangeType><StrategyId>3</StrategyId></xml>`,
			withProps(ev("wecom:ev:sys|1700000000|change_external_tag|create|||etTAG01|", channels.TypeWeComTagChanged),
				map[string]string{"tag_id": "etTAG01", "tag_type": "tag", "change": "create", "strategy_id": "3"})},
		{"all tag groups reordered",
			`<xml><ToUserName><![CDATA[ww1234]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>` +
				`<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_tag]]></Event><Id><![CDATA[]]></Id>` +
				`<ChangeType><![CDATA[shuffle]]></ChangeType></xml>`,
			withProps(ev("wecom:ev:sys|1700000000|change_external_tag|shuffle||||", channels.TypeWeComTagChanged),
				map[string]string{"change": "shuffle"})},
		{"kf messages waiting",
			"<xml>\n  <ToUserName><![CDATA[ww1234]]></ToUserName>\n  <CreateTime>1700000000</CreateTime>\n  <MsgType><![CDATA[event]]></MsgType>\n" +
				"  <Event><![CDATA[kf_msg_or_event]]></Event>\n  <Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>\n" +
				"  <OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId>\n</xml>",
			withProps(ev("wecom:ev:|1700000000|kf_msg_or_event|||||ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", channels.TypeKFPending),
				map[string]string{"token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", "open_kfid": "wkxxxxxxx"})},
	}
}
