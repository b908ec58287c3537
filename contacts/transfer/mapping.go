package transfer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/journeygate/gateway/contacts"
)

// Targets a column can map to. Identity kinds use the contacts constants
// (phone, email, openid, unionid, external_userid).
const (
	TargetName     = "name"
	TargetOwner    = "owner"
	TargetTags     = "tags"
	TargetCompany  = "company"
	TargetIndustry = "industry"
	TargetRegion   = "region"
	TargetIgnore   = "ignore"
	// "consent:<channel>", "consent_source[:<channel>]",
	// "consent_date[:<channel>]" and "field:<name>" carry a parameter.
	targetConsent       = "consent"
	targetConsentSource = "consent_source"
	targetConsentDate   = "consent_date"
	targetField         = "field"
	// RestKey in a mapping says what happens to columns nothing else maps:
	// "ignore" drops them, "field" keeps each as a custom field named by its
	// header. Without it an unmapped column fails the import, so a typo in a
	// header never silently loses a column.
	RestKey = "*"
)

// SourceField is the custom field that records where a contact came from;
// an import sets it to "import:<job id>" on contacts that have none.
const SourceField = "source"

// Bounds mirrored from contacts' own validation, so a row is rejected with
// its line and column rather than failing inside Apply.
const (
	maxValueLen     = 4096
	maxNameLen      = 256
	maxTagLen       = 128
	maxTags         = 100
	maxFieldNameLen = 64
	maxFields       = 90 // contacts allows 100; leave room for source and the rest
)

// defaultHeaders maps normalised header spellings (see normHeader) that
// Chinese and English lists use to targets.
var defaultHeaders = func() map[string]string {
	m := map[string]string{}
	add := func(target string, names ...string) {
		for _, n := range names {
			m[normHeader(n)] = target
		}
	}
	add(contacts.KindPhone, "手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "移动电话", "联系方式", "phone", "mobile", "phone number", "mobile phone", "cell", "tel", "telephone")
	add(contacts.KindEmail, "邮箱", "电子邮箱", "邮箱地址", "电子邮件", "邮件", "email", "e-mail", "mail", "email address")
	add(contacts.KindOpenID, "openid", "open id")
	add(contacts.KindUnionID, "unionid", "union id")
	add(contacts.KindExternalUserID, "external_userid", "external userid", "externaluserid", "外部联系人id")
	add(TargetName, "姓名", "名字", "客户姓名", "客户名称", "联系人", "name", "full name", "contact name")
	add(TargetCompany, "公司", "公司名称", "企业", "企业名称", "单位", "company", "company name", "organization", "organisation")
	add(TargetIndustry, "行业", "所属行业", "industry")
	add(TargetRegion, "地区", "区域", "所在地区", "城市", "省份", "region", "city", "area", "province")
	add(TargetOwner, "负责人", "跟进人", "所属销售", "销售", "客户经理", "owner", "sales rep", "account owner")
	add(TargetTags, "标签", "客户标签", "tags", "tag", "labels")
	add(targetConsentSource, "同意来源", "授权来源", "consent_source", "consent source")
	add(targetConsentDate, "同意日期", "同意时间", "授权日期", "consent_date", "consent date")
	for ch, zh := range map[string]string{"sms": "短信", "email": "邮件", "wecom": "企业微信", "officialaccount": "公众号"} {
		add(targetConsent+":"+ch, "consent:"+ch, ch+"_consent", ch+" consent", zh+"同意", zh+"营销同意")
		add(targetConsentSource+":"+ch, "consent_source:"+ch)
		add(targetConsentDate+":"+ch, "consent_date:"+ch)
	}
	// Columns an export writes that an import does not set: the contact's
	// own state, kept by the gateway.
	add(TargetIgnore, "id", "stage", "activity", "score", "created_at", "last_seen", SourceField)
	return m
}()

// normHeader makes spellings of one header equal: trimmed, lower-case, a
// leading "*" (a required-column marker in many templates) dropped, and
// full-width brackets and spaces folded.
func normHeader(h string) string {
	h = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(h), "\uFEFF"))
	h = strings.TrimLeft(h, "*＊ ")
	h = strings.Map(func(r rune) rune {
		switch r {
		case '\u3000':
			return ' '
		case '（':
			return '('
		case '）':
			return ')'
		}
		return unicode.ToLower(r)
	}, h)
	return strings.Join(strings.Fields(h), " ")
}

// column is one mapped column of the file.
type column struct {
	header string
	kind   string // an identity kind, TargetName ... or targetConsent etc.
	param  string // channel or field name
}

// mapper turns rows into rowData under one header and mapping.
type mapper struct {
	cols      []column
	channels  map[string]bool
	tagSep    string
	phone     func(string) (string, error)
	jobSource string // "import <job id>", part of consent sources
}

// parseTarget checks one mapping value.
func parseTarget(v string, channels map[string]bool) (column, error) {
	v = strings.TrimSpace(v)
	kind, param, hasParam := strings.Cut(v, ":")
	switch kind {
	case contacts.KindPhone, contacts.KindEmail, contacts.KindOpenID, contacts.KindUnionID, contacts.KindExternalUserID,
		TargetName, TargetOwner, TargetTags, TargetCompany, TargetIndustry, TargetRegion, TargetIgnore:
		if hasParam {
			return column{}, fmt.Errorf("target %q takes no \":\" part", v)
		}
		return column{kind: kind}, nil
	case targetConsent:
		if !channels[param] {
			return column{}, fmt.Errorf("target %q needs a channel: consent:sms, consent:email, consent:wecom or consent:officialaccount", v)
		}
		return column{kind: kind, param: param}, nil
	case targetConsentSource, targetConsentDate:
		if hasParam && !channels[param] {
			return column{}, fmt.Errorf("target %q names an unknown channel; use %s or %s:<channel>", v, kind, kind)
		}
		return column{kind: kind, param: param}, nil
	case targetField:
		if err := checkFieldName(param); err != nil {
			return column{}, fmt.Errorf("target %q: %v", v, err)
		}
		return column{kind: kind, param: param}, nil
	}
	return column{}, fmt.Errorf("target %q is unknown; use phone, email, openid, unionid, external_userid, name, company, industry, region, owner, tags, consent:<channel>, consent_source, consent_date, field:<name> or ignore", v)
}

func checkFieldName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a custom field needs a name, e.g. field:budget")
	case len(name) > maxFieldNameLen:
		return fmt.Errorf("custom field name %q is longer than %d bytes", name, maxFieldNameLen)
	case name == SourceField:
		return fmt.Errorf("custom field %q is set by the import itself (import:<job id>)", name)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("custom field name %q holds control characters", name)
	}
	return nil
}

// ParseMapping reads a mapping given as JSON {"header": "target", ...},
// validating each target, so a bad mapping is refused before the upload is
// stored.
func ParseMapping(raw string, channels []string) (map[string]string, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("transfer: mapping is not a JSON object of header → target (%v): %w", err, ErrInvalid)
	}
	chs := channelSet(channels)
	for h, t := range m {
		if h == RestKey {
			if t != TargetIgnore && t != targetField {
				return nil, fmt.Errorf("transfer: mapping %q must be \"ignore\" or \"field\": %w", RestKey, ErrInvalid)
			}
			continue
		}
		if _, err := parseTarget(t, chs); err != nil {
			return nil, fmt.Errorf("transfer: mapping for column %q: %v: %w", h, err, ErrInvalid)
		}
	}
	return m, nil
}

func channelSet(channels []string) map[string]bool {
	if len(channels) == 0 {
		channels = contacts.DefaultChannels()
	}
	m := make(map[string]bool, len(channels))
	for _, c := range channels {
		m[c] = true
	}
	return m
}

// newMapper maps the header row. Explicit mapping entries win over the
// default spellings; columns with an empty header are ignored. It fails
// with ErrBadFile when no column is an identity, when a column nobody
// mapped remains, or when two columns fill the same single-valued target.
func newMapper(header []string, mapping map[string]string, channels map[string]bool, tagSep string, phone func(string) (string, error), jobID string) (*mapper, error) {
	explicit := make(map[string]string, len(mapping))
	for h, t := range mapping {
		if h != RestKey {
			explicit[normHeader(h)] = t
		}
	}
	rest := mapping[RestKey]
	m := &mapper{channels: channels, tagSep: tagSep, phone: phone, jobSource: "import " + jobID}
	var unknown []string
	single := map[string]string{}
	identities := 0
	for _, h := range header {
		n := normHeader(h)
		col := column{header: strings.TrimSpace(h), kind: TargetIgnore}
		t, ok := explicit[n]
		if !ok {
			t, ok = defaultHeaders[n]
		}
		if !ok && strings.HasPrefix(n, targetField+":") {
			t, ok = targetField+":"+strings.TrimSpace(strings.TrimSpace(h)[len(targetField)+1:]), true
		}
		switch {
		case n == "":
		case ok:
			c, err := parseTarget(t, channels)
			if err != nil {
				return nil, fmt.Errorf("transfer: column %q: %v: %w", h, err, ErrBadFile)
			}
			col.kind, col.param = c.kind, c.param
		case rest == TargetIgnore:
		case rest == targetField:
			if err := checkFieldName(col.header); err != nil {
				return nil, fmt.Errorf("transfer: column %q cannot be a custom field (%v); map it in the mapping: %w", h, err, ErrBadFile)
			}
			col.kind, col.param = targetField, col.header
		default:
			unknown = append(unknown, strings.TrimSpace(h))
		}
		switch col.kind {
		case contacts.KindPhone, contacts.KindEmail, contacts.KindOpenID, contacts.KindUnionID, contacts.KindExternalUserID:
			identities++
		case TargetTags, TargetIgnore:
		default:
			key := col.kind + ":" + col.param
			if prev, dup := single[key]; dup {
				return nil, fmt.Errorf("transfer: columns %q and %q both map to %s; map one of them to ignore: %w", prev, col.header, strings.TrimSuffix(key, ":"), ErrBadFile)
			}
			single[key] = col.header
		}
		m.cols = append(m.cols, col)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("transfer: columns %s are not known; map each with mapping={\"<header>\": \"<target>\"} "+
			"(targets: phone, email, name, company, industry, region, owner, tags, consent:<channel>, field:<name>, ignore), "+
			"or pass {\"*\": \"field\"} to keep them as custom fields or {\"*\": \"ignore\"} to drop them: %w", quoteList(unknown), ErrBadFile)
	}
	if identities == 0 {
		return nil, fmt.Errorf("transfer: no column is an identity (phone, email, openid, unionid or external_userid); the header is %s: %w", quoteList(header), ErrBadFile)
	}
	return m, nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// Reject is one rejected row of an import, as the rejects report lists it.
type Reject struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// consentCell is one channel's consent from a row.
type consentCell struct{ channel, status, source string }

// rowData is one row mapped and checked: everything a contacts.Change
// needs, before it is compared with the stored contact.
type rowData struct {
	line    int
	ids     []contacts.Identity
	idCols  []string // the column of each identity, for duplicate reports
	name    string
	owner   string
	fields  map[string]string
	tags    []string
	consent []consentCell
}

// mapRow checks one row. empty reports a row with no value at all (trailing
// rows of a spreadsheet), which is skipped rather than rejected.
func (m *mapper) mapRow(line int, cells []string) (row rowData, rej *Reject, empty bool) {
	row.line = line
	reject := func(col, format string, args ...any) (rowData, *Reject, bool) {
		return rowData{}, &Reject{Line: line, Column: col, Reason: fmt.Sprintf(format, args...)}, false
	}
	empty = true
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			empty = false
			break
		}
	}
	if empty {
		return rowData{}, nil, true
	}
	if len(cells) > len(m.cols) {
		for _, c := range cells[len(m.cols):] {
			if strings.TrimSpace(c) != "" {
				return reject("", "the row has %d cells but the header has %d columns; quote values that contain commas", len(cells), len(m.cols))
			}
		}
	}
	var sources, dates map[string]string // channel ("" = all) → value
	for i, col := range m.cols {
		if i >= len(cells) {
			break
		}
		v := strings.TrimSpace(cells[i])
		if v == "" || col.kind == TargetIgnore {
			continue
		}
		if len(v) > maxValueLen {
			return reject(col.header, "the value is %d bytes; at most %d are allowed", len(v), maxValueLen)
		}
		if col.kind != TargetTags && strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return reject(col.header, "the value holds a line break or control character; remove it")
		}
		switch col.kind {
		case contacts.KindPhone:
			p, err := m.phone(v)
			if err != nil {
				return reject(col.header, "%q is not a phone number: %v", v, err)
			}
			row.ids, row.idCols = append(row.ids, contacts.Identity{Kind: col.kind, Value: p}), append(row.idCols, col.header)
		case contacts.KindEmail:
			e, err := normalizeEmail(v)
			if err != nil {
				return reject(col.header, "%v", err)
			}
			row.ids, row.idCols = append(row.ids, contacts.Identity{Kind: col.kind, Value: e}), append(row.idCols, col.header)
		case contacts.KindOpenID, contacts.KindUnionID, contacts.KindExternalUserID:
			id, err := contacts.NormalizeIdentity(contacts.Identity{Kind: col.kind, Value: v})
			if err != nil {
				return reject(col.header, "%q is not a usable %s: %v", v, col.kind, err)
			}
			row.ids, row.idCols = append(row.ids, id), append(row.idCols, col.header)
		case TargetName:
			if len(v) > maxNameLen {
				return reject(col.header, "the name is %d bytes; at most %d are allowed", len(v), maxNameLen)
			}
			row.name = v
		case TargetOwner:
			if !validOwner(v) {
				return reject(col.header, "owner %q is not a WeCom userid (letters, digits, . _ - @; at most 64)", v)
			}
			row.owner = v
		case TargetTags:
			for _, t := range splitTags(v, m.tagSep) {
				if len(t) > maxTagLen || strings.IndexFunc(t, unicode.IsControl) >= 0 {
					return reject(col.header, "tag %q is longer than %d bytes or holds control characters", t, maxTagLen)
				}
				if !slices.Contains(row.tags, t) {
					row.tags = append(row.tags, t)
				}
			}
			if len(row.tags) > maxTags {
				return reject(col.header, "the row has %d tags; at most %d are allowed", len(row.tags), maxTags)
			}
		case TargetCompany, TargetIndustry, TargetRegion, targetField:
			name := col.param
			if col.kind != targetField {
				name = col.kind
			}
			if row.fields == nil {
				row.fields = map[string]string{}
			}
			row.fields[name] = v
		case targetConsent:
			st, ok := consentStatus(v)
			if !ok {
				return reject(col.header, "consent %q is not understood; use opted_in/opted_out (or 是/否, yes/no, 同意/退订)", v)
			}
			row.consent = append(row.consent, consentCell{channel: col.param, status: st})
		case targetConsentSource:
			if sources == nil {
				sources = map[string]string{}
			}
			sources[col.param] = v
		case targetConsentDate:
			d, ok := parseDate(v)
			if !ok {
				return reject(col.header, "date %q is not understood; use 2026-11-01 or 2026/11/01", v)
			}
			if dates == nil {
				dates = map[string]string{}
			}
			dates[col.param] = d
		}
	}
	if len(row.ids) == 0 {
		return reject("", "the row has no phone, email, openid, unionid or external_userid")
	}
	if len(row.fields) > maxFields {
		return reject("", "the row sets %d custom fields; at most %d are allowed", len(row.fields), maxFields)
	}
	for i := range row.consent {
		c := &row.consent[i]
		src := firstNonEmpty(sources[c.channel], sources[""], "list import")
		if d := firstNonEmpty(dates[c.channel], dates[""]); d != "" {
			src += ", " + d
		}
		c.source = src + " (" + m.jobSource + ")"
	}
	return row, nil, false
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// defaultTagSeparators split a tags cell when no separator is given:
// what people type in Chinese and English spreadsheets.
const defaultTagSeparators = ",，、;；|"

func splitTags(v, sep string) []string {
	var parts []string
	if sep != "" {
		parts = strings.Split(v, sep)
	} else {
		parts = strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(defaultTagSeparators, r) })
	}
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// validOwner accepts what a WeCom userid can be: letters, digits and
// . _ - @, starting with a letter or digit, at most 64 characters.
func validOwner(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for i, r := range v {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-' || r == '@'):
		default:
			return false
		}
	}
	return true
}

func consentStatus(v string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case contacts.ConsentOptedIn, "in", "yes", "y", "true", "1", "是", "同意", "已同意", "订阅", "已订阅":
		return contacts.ConsentOptedIn, true
	case contacts.ConsentOptedOut, "out", "no", "n", "false", "0", "否", "拒绝", "不同意", "退订", "已退订":
		return contacts.ConsentOptedOut, true
	case contacts.ConsentUnknown, "未知":
		return contacts.ConsentUnknown, true
	}
	return "", false
}
