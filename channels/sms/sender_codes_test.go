package sms

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/channels"
)

// codeOutcome is what the pipeline learns from one Aliyun code.
type codeOutcome struct {
	Kind     channels.ErrorKind
	Code     string
	Sentinel string
}

func sentinelOf(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{{ErrRefused, "refused"}, {ErrOutcomeUnknown, "outcome unknown"}, {ErrUnreachable, "unreachable"}} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "none"
}

// Each case answers the way Aliyun does for that code: business results
// as HTTP 200 with the code in the body, gateway errors at their status.
var codeCases = []struct {
	code   string
	status int
	want   channels.ErrorKind
}{
	{"isv.BUSINESS_LIMIT_CONTROL", http.StatusOK, channels.Transient},
	{"isv.DAY_LIMIT_CONTROL", http.StatusOK, channels.Transient},
	{"isp.SYSTEM_ERROR", http.StatusOK, channels.Transient},
	{"isp.GATEWAY_ERROR", http.StatusOK, channels.Transient},
	{"Throttling", http.StatusServiceUnavailable, channels.Transient},
	{"Throttling.User", http.StatusBadRequest, channels.Transient},
	{"Throttling.Api", http.StatusBadRequest, channels.Transient},
	{"ServiceUnavailable", http.StatusServiceUnavailable, channels.Transient},
	{"InternalError", http.StatusInternalServerError, channels.Transient},
	{"SignatureNonceUsed", http.StatusBadRequest, channels.Transient},

	{"isv.MOBILE_NUMBER_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.MOBILE_COUNT_OVER_LIMIT", http.StatusOK, channels.Permanent},
	{"isv.DOMESTIC_NUMBER_NOT_SUPPORTED", http.StatusOK, channels.Permanent},
	{"isv.SMS_TEMPLATE_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.TEMPLATE_MISSING_PARAMETERS", http.StatusOK, channels.Permanent},
	{"isv.TEMPLATE_PARAMS_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.INVALID_JSON_PARAM", http.StatusOK, channels.Permanent},
	{"isv.INVALID_PARAMETERS", http.StatusOK, channels.Permanent},
	{"isv.PARAM_LENGTH_LIMIT", http.StatusOK, channels.Permanent},
	{"isv.PARAM_NOT_SUPPORT_URL", http.StatusOK, channels.Permanent},
	{"isv.BLACK_KEY_CONTROL_LIMIT", http.StatusOK, channels.Permanent},
	{"isv.SMS_CONTENT_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.SMS_SIGNATURE_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.SMS_SIGN_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.SIGN_STATE_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.SMS_SIGNATURE_SCENE_ILLEGAL", http.StatusOK, channels.Permanent},
	{"isv.AMOUNT_NOT_ENOUGH", http.StatusOK, channels.Permanent},
	{"isv.OUT_OF_SERVICE", http.StatusOK, channels.Permanent},
	{"isv.MONTH_LIMIT_CONTROL", http.StatusOK, channels.Permanent},
	{"isv.PRODUCT_UN_SUBSCRIPT", http.StatusOK, channels.Permanent},
	{"isv.PRODUCT_UNSUBSCRIBE", http.StatusOK, channels.Permanent},
	{"isv.ACCOUNT_NOT_EXISTS", http.StatusOK, channels.Permanent},
	{"isv.ACCOUNT_ABNORMAL", http.StatusOK, channels.Permanent},
	{"isv.DENY_IP_RANGE", http.StatusOK, channels.Permanent},
	{"isp.RAM_PERMISSION_DENY", http.StatusOK, channels.Permanent},
	{"InvalidAccessKeyId.NotFound", http.StatusNotFound, channels.Permanent},
	{"InvalidAccessKeyId.Inactive", http.StatusBadRequest, channels.Permanent},
	{"SignatureDoesNotMatch", http.StatusBadRequest, channels.Permanent},
	{"InvalidTimeStamp.Expired", http.StatusBadRequest, channels.Permanent},
	{"InvalidAction.NotFound", http.StatusNotFound, channels.Permanent},

	// A 5xx is the platform failing, whatever code it names.
	{"isv.AMOUNT_NOT_ENOUGH", http.StatusInternalServerError, channels.Transient},

	// Codes the table does not know.
	{"isv.SOMETHING_NEW", http.StatusOK, channels.Permanent},
	{"Forbidden.Unknown", http.StatusForbidden, channels.Permanent},
	{"TooManyRequests", http.StatusTooManyRequests, channels.Transient},
	{"Unknown.Fault", http.StatusBadGateway, channels.Transient},
}

func TestAliyunCodesMapToKinds(t *testing.T) {
	for _, c := range codeCases {
		t.Run(c.code, func(t *testing.T) {
			a := newStandIn(t, answerCode(c.status, c.code, "message for "+c.code))
			s := newTestSender(t, a, nil)
			_, err := s.Send(context.Background(), smsMessage("+8613800138000"))
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *channels.SendError", err)
			}
			want := codeOutcome{Kind: c.want, Code: c.code, Sentinel: "refused"}
			if c.status >= 500 {
				want.Sentinel = "outcome unknown"
			}
			got := codeOutcome{Kind: se.Kind, Code: se.Code, Sentinel: sentinelOf(err)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), "message for "+c.code) || !strings.Contains(err.Error(), standInRequestID) {
				t.Errorf("error %q lacks Aliyun's message or request id", err)
			}
		})
	}
}

// A row added to codeRules needs a case above, so every mapping is pinned.
func TestEveryCodeRuleIsTested(t *testing.T) {
	var untested []string
	for code := range codeRules {
		found := false
		for _, c := range codeCases {
			if c.code == code || strings.HasPrefix(c.code, code+".") {
				found = true
				break
			}
		}
		if !found {
			untested = append(untested, code)
		}
	}
	if len(untested) > 0 {
		t.Errorf("codes without a case in codeCases: %v", untested)
	}
}
