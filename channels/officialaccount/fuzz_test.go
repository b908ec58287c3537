package officialaccount

import (
	"encoding/xml"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/silenceper/wechat/v2/util"

	"github.com/journeygate/gateway/channels"
)

var fuzzSeeds = []string{
	msgHead + `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[我想了解价格]]></Content><MsgId>24037693947853543</MsgId></xml>`,
	msgHead + `<MsgType>text</MsgType><Content>a &lt;b&gt; &amp; ]]&gt;</Content><MsgId>1</MsgId></xml>`,
	msgHead + `<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[报名]]></Recognition><MsgId>3</MsgId></xml>`,
	msgHead + `<MsgType><![CDATA[location]]></MsgType><Location_X>23.1</Location_X><Location_Y>113.3</Location_Y><Scale>20</Scale><Label><![CDATA[广州]]></Label><MsgId>7</MsgId></xml>`,
	msgHead + `<MsgType><![CDATA[link]]></MsgType><Title><![CDATA[白皮书]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[https://example.com]]></Url><MsgId>8</MsgId></xml>`,
	msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_expo]]></EventKey><Ticket><![CDATA[T]]></Ticket></xml>`,
	msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[expo]]></EventKey></xml>`,
	msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://example.com/?a=1&b=2]]></EventKey></xml>`,
	msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event><MsgID>200163836</MsgID><Status><![CDATA[success]]></Status></xml>`,
	msgHead + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[LOCATION]]></Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.3</Precision></xml>`,
	msgHead + `<MsgType>event</MsgType><Event>scancode_push</Event><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo></xml>`,
	`<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[bm90IGEgY2lwaGVydGV4dA==]]></Encrypt></xml>`,
}

var knownErrors = []error{ErrSignature, ErrStale, ErrDecrypt, ErrMalformed, ErrUnsupported}

// sentinel returns the one sentinel err wraps, failing the test if there is
// none: every refusal must be mappable to a stable code.
func sentinel(t *testing.T, err error) error {
	t.Helper()
	var found error
	for _, s := range knownErrors {
		if errors.Is(err, s) {
			if found != nil {
				t.Fatalf("error %q wraps both %v and %v", err, found, s)
			}
			found = s
		}
	}
	if found == nil {
		t.Fatalf("error %q wraps no sentinel", err)
	}
	return found
}

var eventTypes = map[string]bool{
	channels.TypeMessage: true, channels.TypeSubscribe: true, channels.TypeUnsubscribe: true, channels.TypeScan: true,
	channels.TypeMenuClick: true, channels.TypeMenuView: true, channels.TypeTemplateSendFinished: true,
}

// checkInbound asserts what every accepted callback must satisfy.
func checkInbound(t *testing.T, in *Inbound) {
	t.Helper()
	ev := in.Event
	if in.OpenID == "" || in.Account == "" {
		t.Fatalf("accepted without OpenID or Account: %+v", in)
	}
	if diff := cmp.Diff([]channels.Identity{{Kind: channels.OpenID, Value: in.OpenID}}, ev.Contact); diff != "" {
		t.Fatalf("Contact (-want +got):\n%s", diff)
	}
	if ev.Source != channels.OfficialAccount || !eventTypes[ev.Type] {
		t.Fatalf("bad source or type: %+v", ev)
	}
	if !strings.HasPrefix(ev.ID, "oa:msg:") && !strings.HasPrefix(ev.ID, "oa:ev:") && !strings.HasPrefix(ev.ID, "oa:tpl:") {
		t.Fatalf("ID %q has no known prefix", ev.ID)
	}
	if ev.Props == nil {
		t.Fatal("Props is nil")
	}
	for k, v := range ev.Props {
		if v == "" {
			t.Fatalf("prop %q is empty", k)
		}
	}
}

// FuzzDecode drives Decode with plain and safe requests, some signed by the
// harness (with the SDK) and some carrying whatever signature the fuzzer
// made up. It must never panic, must refuse with a sentinel, must accept
// only correctly signed requests, and a signed message must decode the same
// in both modes.
func FuzzDecode(f *testing.F) {
	for _, seed := range fuzzSeeds {
		for _, safe := range []bool{false, true} {
			f.Add(safe, true, testTS, testNonce, "", []byte(seed))
			f.Add(safe, false, testTS, testNonce, strings.Repeat("0", 40), []byte(seed))
		}
	}
	f.Add(true, true, "1699999000", "n", "", []byte(fuzzSeeds[0]))
	f.Add(false, true, "+1700000000", "", "", []byte(fuzzSeeds[0]))
	// A keyed account refuses plain mode, so each mode has its own account.
	keyed, plainOnly := newTestCallback(f, testAESKey), newTestCallback(f, "")
	f.Fuzz(func(t *testing.T, safe, sign bool, ts, nonce, sig string, payload []byte) {
		c, other := plainOnly, keyed
		if safe {
			c, other = keyed, plainOnly
		}
		var q url.Values
		body := payload
		switch {
		case safe && sign:
			body, q = sealWithSDK(t, testAppID, testToken, testAESKey, ts, nonce, payload)
		case safe:
			q = url.Values{"timestamp": {ts}, "nonce": {nonce}, "msg_signature": {sig}, "encrypt_type": {"aes"}}
		case sign:
			q = plainQuery(testToken, ts, nonce)
		default:
			q = url.Values{"timestamp": {ts}, "nonce": {nonce}, "signature": {sig}}
		}
		in, err := c.Decode(q, body)
		if err != nil {
			sentinel(t, err)
			if in != nil {
				t.Fatalf("Decode returned %+v with error %v", in, err)
			}
		} else {
			if safe {
				var outer struct{ Encrypt string }
				if xerr := xml.Unmarshal(body, &outer); xerr != nil {
					t.Fatalf("accepted a safe body encoding/xml cannot read: %v", xerr)
				}
				if q.Get("msg_signature") != util.Signature(testToken, ts, nonce, outer.Encrypt) {
					t.Fatalf("accepted a safe request with a wrong msg_signature")
				}
			} else if q.Get("signature") != util.Signature(testToken, ts, nonce) {
				t.Fatalf("accepted a plain request with a wrong signature")
			}
			if sec, _ := strconv.ParseInt(ts, 10, 64); sec < testNow.Unix()-300 || sec > testNow.Unix()+300 {
				t.Fatalf("accepted timestamp %q", ts)
			}
			if in.Safe != safe {
				t.Fatalf("Safe = %v, want %v", in.Safe, safe)
			}
			checkInbound(t, in)
		}
		if !sign {
			return
		}
		// The same message, signed, in the other mode.
		var otherIn *Inbound
		var otherErr error
		if safe {
			otherIn, otherErr = other.Decode(plainQuery(testToken, ts, nonce), payload)
		} else {
			otherBody, otherQ := sealWithSDK(t, testAppID, testToken, testAESKey, ts, nonce, payload)
			otherIn, otherErr = other.Decode(otherQ, otherBody)
		}
		if (err == nil) != (otherErr == nil) {
			t.Fatalf("safe=%v: %v; other mode: %v", safe, err, otherErr)
		}
		if err != nil {
			if a, b := sentinel(t, err), sentinel(t, otherErr); a != b {
				t.Fatalf("safe=%v refuses with %v, other mode with %v", safe, a, b)
			}
			return
		}
		otherIn.Safe = in.Safe
		if diff := cmp.Diff(in, otherIn, cmp.AllowUnexported(Inbound{})); diff != "" {
			t.Fatalf("modes disagree (-this +other):\n%s", diff)
		}
	})
}

// FuzzDecodeInner drives the message mapper directly. Beyond never
// panicking, an accepted message must be consistent with its own fields
// (ID, time, sender) and decode the same after being re-written in
// canonical form with the escaping Reply uses.
func FuzzDecodeInner(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		in, err := decodeMessage(doc)
		if err != nil {
			if s := sentinel(t, err); s != ErrMalformed && s != ErrUnsupported {
				t.Fatalf("message decoding failed with %v", s)
			}
			return
		}
		checkInbound(t, in)
		fields := map[string]string{}
		if err := channels.ScanXML(doc, func(name, value []byte) { fields[string(name)] = string(value) }); err != nil {
			t.Fatalf("accepted a document ScanXML refuses: %v", err)
		}
		if in.OpenID != fields["FromUserName"] || in.Account != fields["ToUserName"] {
			t.Fatalf("OpenID/Account %q/%q, fields %q/%q", in.OpenID, in.Account, fields["FromUserName"], fields["ToUserName"])
		}
		if strconv.FormatInt(in.Event.At.Unix(), 10) != strings.TrimLeft(fields["CreateTime"], "0") && in.Event.At.Unix() != 0 {
			t.Fatalf("At %v, CreateTime %q", in.Event.At, fields["CreateTime"])
		}
		var wantID string
		switch {
		case fields["MsgType"] != "event":
			wantID = "oa:msg:" + fields["MsgId"]
		case fields["Event"] == "TEMPLATESENDJOBFINISH":
			wantID = "oa:tpl:" + fields["MsgID"]
		default:
			wantID = "oa:ev:" + fields["FromUserName"] + ":" + fields["CreateTime"] + ":" + fields["Event"]
		}
		if in.Event.ID != wantID {
			t.Fatalf("ID %q, want %q", in.Event.ID, wantID)
		}

		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		canonical := []byte("<xml>")
		for _, name := range names {
			canonical = appendElement(canonical, name, fields[name])
		}
		canonical = append(canonical, "</xml>"...)
		again, err := decodeMessage(canonical)
		if err != nil {
			t.Fatalf("canonical form %q refused: %v", canonical, err)
		}
		if diff := cmp.Diff(in, again, cmp.AllowUnexported(Inbound{})); diff != "" {
			t.Fatalf("canonical form decodes differently (-original +canonical):\n%s", diff)
		}
	})
}
