package main

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Alibaba Cloud SMS (dysmsapi 2017-05-25) stand-in. Gateway errors (bad
// signature, missing parameters) are HTTP 4xx; business failures are HTTP 200
// with Code != "OK", as Aliyun answers them.

const (
	smsAPIVersion  = "2017-05-25"
	smsMaxNumbers  = 1000
	reportAttempts = 3
	smsTimeFormat  = "2006-01-02 15:04:05"
)

var mobileRE = regexp.MustCompile(`^(?:\+?86|0086)?1[3-9][0-9]{9}$`)

func requestID() string {
	return strings.ToUpper(randomString(8, hexDigits) + "-" + randomString(4, hexDigits) + "-" + randomString(4, hexDigits) + "-" +
		randomString(4, hexDigits) + "-" + randomString(12, hexDigits))
}

func (s *sandbox) smsHandler() http.Handler {
	return http.HandlerFunc(s.smsServe)
}

func writeACSError(w http.ResponseWriter, r *http.Request, e *acsError) {
	rid := requestID()
	w.Header().Set("x-acs-request-id", rid)
	writeJSON(w, e.Status, map[string]string{
		"RequestId": rid, "HostId": r.Host, "Code": e.Code, "Message": e.Message,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.Code) + "&product=Dysmsapi&requestId=" + rid,
	})
}

func (s *sandbox) smsServe(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeACSError(w, r, &acsError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
		return
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		writeACSError(w, r, &acsError{400, "UnsupportedHTTPMethod", "This http method is not supported."})
		return
	}
	body, err := readBody(r)
	if err != nil {
		writeACSError(w, r, &acsError{400, "InvalidParameter", "The request body is unreadable: " + err.Error()})
		return
	}
	if e := s.verifyACS3(r, body); e != nil {
		writeACSError(w, r, e)
		return
	}
	params := r.URL.Query()
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			writeACSError(w, r, &acsError{400, "InvalidParameter", "The form body is not URL encoded."})
			return
		}
		for k, v := range form {
			params[k] = v
		}
	}
	if v := r.Header.Get("x-acs-version"); v != smsAPIVersion {
		writeACSError(w, r, &acsError{400, "InvalidVersion", "Specified parameter Version is not valid; dysmsapi is " + smsAPIVersion + "."})
		return
	}
	switch r.Header.Get("x-acs-action") {
	case "SendSms":
		flow := func() { s.smsBusiness(w, "isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1") }
		unavailable := func() {
			writeACSError(w, r, &acsError{503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."})
		}
		if s.applyFault(w, r, chSMS, flow, unavailable) {
			return
		}
		s.sendSMS(w, r, params)
	default:
		writeACSError(w, r, &acsError{404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."})
	}
}

func (s *sandbox) smsBusiness(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, map[string]string{"Code": code, "Message": msg, "RequestId": requestID()})
}

// smsCheck is the business verdict on one SendSms call: "" code means accepted.
func (s *sandbox) smsCheck(params url.Values) (numbers []string, vars map[string]string, code, msg string) {
	if params.Get("SignName") != s.cfg.AliyunSignName {
		return nil, nil, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名"
	}
	names, ok := s.cfg.SMSTemplates[params.Get("TemplateCode")]
	if !ok {
		return nil, nil, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板"
	}
	vars = map[string]string{}
	if raw := params.Get("TemplateParam"); raw != "" {
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, nil, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
		}
		for k, v := range m {
			str, ok := v.(string)
			if !ok {
				return nil, nil, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值"
			}
			vars[k] = str
		}
	}
	for _, n := range names {
		if _, ok := vars[n]; !ok {
			return nil, nil, "isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量"
		}
	}
	numbers = strings.Split(params.Get("PhoneNumbers"), ",")
	if len(numbers) > smsMaxNumbers {
		return nil, nil, "isv.MOBILE_COUNT_OVER_LIMIT", "手机号码数量超过限制"
	}
	for i, n := range numbers {
		numbers[i] = strings.TrimSpace(n)
		if !mobileRE.MatchString(numbers[i]) {
			return nil, nil, "isv.MOBILE_NUMBER_ILLEGAL", "手机号码格式错误"
		}
	}
	return numbers, vars, "", ""
}

func (s *sandbox) sendSMS(w http.ResponseWriter, r *http.Request, params url.Values) {
	for _, p := range []string{"PhoneNumbers", "SignName", "TemplateCode"} {
		if params.Get(p) == "" {
			writeACSError(w, r, &acsError{400, "Missing" + p, p + " is mandatory for this action."})
			return
		}
	}
	numbers, vars, code, msg := s.smsCheck(params)
	if code != "" {
		s.smsBusiness(w, code, msg)
		return
	}
	now := s.now()
	s.mu.Lock()
	for _, n := range numbers {
		if s.recentSMS(bareMobile(n), now) >= s.cfg.SMSPerMinute {
			s.mu.Unlock()
			s.smsBusiness(w, "isv.BUSINESS_LIMIT_CONTROL", fmt.Sprintf("触发分钟级流控Permits:%d", s.cfg.SMSPerMinute))
			return
		}
	}
	for _, n := range numbers {
		pruneOldest(s.state.smsSends, maxEntries)
		s.state.smsSends[bareMobile(n)] = append(s.state.smsSends[bareMobile(n)], now)
	}
	s.mu.Unlock()
	bizID := randomString(15, digits) + "^0"
	outID := params.Get("OutId")
	reports := make([]smsReport, 0, len(numbers))
	for _, n := range numbers {
		s.store.add(message{Channel: chSMS, API: "SendSms", To: n, Type: "template", Time: now, Body: map[string]any{
			"sign_name": params.Get("SignName"), "template_code": params.Get("TemplateCode"),
			"params": vars, "out_id": outID, "biz_id": bizID}})
		reports = append(reports, smsReport{PhoneNumber: n, SendTime: now.In(shanghai).Format(smsTimeFormat),
			Success: true, ErrCode: "DELIVERED", ErrMsg: "用户接收成功", SmsSize: "1", BizID: bizID, OutID: outID})
	}
	writeJSON(w, http.StatusOK, map[string]string{"Code": "OK", "Message": "OK", "BizId": bizID, "RequestId": requestID()})
	if s.cfg.GatewayURL != "" {
		s.goBackground(func() { s.pushSMSReports(reports) })
	}
}

// bareMobile drops a +86, 86 or 0086 prefix: flow control counts the handset, not the spelling.
func bareMobile(n string) string {
	return n[len(n)-11:]
}

// recentSMS counts sends to number in the minute before now and forgets older ones; s.mu is held.
func (s *sandbox) recentSMS(number string, now time.Time) int {
	kept := s.state.smsSends[number][:0]
	for _, t := range s.state.smsSends[number] {
		if now.Sub(t) < time.Minute {
			kept = append(kept, t)
		}
	}
	if len(kept) == 0 {
		delete(s.state.smsSends, number)
		return 0
	}
	s.state.smsSends[number] = kept
	return len(kept)
}

// smsReport is one element of Aliyun's SmsReport push.
type smsReport struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	ReportTime  string `json:"report_time"`
	Success     bool   `json:"success"`
	ErrCode     string `json:"err_code"`
	ErrMsg      string `json:"err_msg"`
	SmsSize     string `json:"sms_size"`
	BizID       string `json:"biz_id"`
	OutID       string `json:"out_id"`
}

// pushSMSReports waits the report delay, then pushes like Aliyun: an answer
// other than HTTP 200 with {"code":0} is retried (Aliyun waits 1, 5 and 10
// minutes; the sandbox doubles the report delay instead).
func (s *sandbox) pushSMSReports(reports []smsReport) {
	if !s.sleepCtx(s.cfg.ReportDelay) {
		return
	}
	stamp := s.now().In(shanghai).Format(smsTimeFormat)
	for i := range reports {
		reports[i].ReportTime = stamp
	}
	body, _ := json.Marshal(reports)
	s.pushJSON("sms_report", s.cfg.GatewayURL+"/callbacks/sms/report", body)
}

// pushJSON posts body and retries until the gateway acknowledges with code 0.
func (s *sandbox) pushJSON(kind, target string, body []byte) callbackRecord {
	wait := max(s.cfg.ReportDelay, 100*time.Millisecond)
	rec := callbackRecord{Time: s.now(), Kind: kind, URL: target}
	for rec.Attempts < reportAttempts {
		if rec.Attempts > 0 && !s.sleepCtx(wait) {
			break
		}
		wait *= 2
		rec.Attempts++
		status, resp, err := s.callGateway(http.MethodPost, target, "application/json", body)
		rec.Status, rec.Response, rec.Error = status, string(resp), ""
		if err != nil {
			rec.Error = err.Error()
			continue
		}
		var ack struct {
			Code *int `json:"code"`
		}
		if status == http.StatusOK && json.Unmarshal(resp, &ack) == nil && ack.Code != nil && *ack.Code == 0 {
			break
		}
		rec.Error = fmt.Sprintf("%v: want HTTP 200 with {\"code\":0}", ErrGateway)
	}
	s.recordCallback(rec)
	return rec
}
