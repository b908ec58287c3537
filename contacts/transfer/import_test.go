package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/journeygate/gateway/contacts"
)

// TestImportFormats imports the same list as UTF-8, UTF-8 with BOM, GBK
// (detected and named) and XLSX, and checks the contacts it makes.
func TestImportFormats(t *testing.T) {
	for _, tt := range []struct {
		file, encoding string
		wantFormat     string
		wantEncoding   string
	}{
		{"utf8.csv", "", FormatCSV, EncodingUTF8},
		{"utf8bom.csv", "", FormatCSV, EncodingUTF8},
		{"gbk.csv", "", FormatCSV, EncodingGB18030},
		{"gbk.csv", "gbk", FormatCSV, EncodingGB18030},
		{"list.xlsx", "", FormatXLSX, ""},
	} {
		t.Run(tt.file+"/"+tt.encoding, func(t *testing.T) {
			f := newFixture(t, ImportOptions{})
			j := f.importFile(readFixture(t, tt.file), ImportRequest{Encoding: tt.encoding, FileName: tt.file})
			gotJob := []any{j.Status, j.Format, j.Encoding, j.RowsTotal, j.RowsDone, j.Created, j.Updated, j.Unchanged, j.Rejected, j.Error}
			wantJob := []any{StatusDone, tt.wantFormat, tt.wantEncoding, 2, 2, 2, 0, 0, 0, ""}
			if diff := cmp.Diff(wantJob, gotJob); diff != "" {
				t.Errorf("job (-want +got):\n%s", diff)
			}
			c := f.contact(contacts.KindPhone, "+8613800138000")
			want := &contacts.Contact{
				ID:         contacts.IDFor(contacts.Identity{Kind: contacts.KindPhone, Value: "+8613800138000"}),
				Identities: map[string][]string{"phone": {"+8613800138000"}, "email": {"wang.wei@example.com"}},
				Tags:       []string{"vip", "展会2026"}, Stage: "prospect", Activity: "active", Owner: "rep.li", Name: "王伟",
				Consent:       map[string]string{"sms": "opted_in", "email": "unknown", "wecom": "unknown", "officialaccount": "unknown"},
				ConsentSource: map[string]string{"sms": "2026 上海展会, 2026-11-01 (import " + j.ID + ")"},
				Fields:        map[string]string{"company": "上海云启科技", "industry": "软件", "region": "上海", "source": "import:" + j.ID},
				CreatedAt:     f.clock.Now(),
			}
			if diff := cmp.Diff(want, c); diff != "" {
				t.Errorf("contact (-want +got):\n%s", diff)
			}
			other := f.contact(contacts.KindPhone, "+8613900139000")
			if other.Name != "李娜" || other.Owner != "rep.zhang" || !cmp.Equal(other.Tags, []string{"展会2026"}) {
				t.Errorf("second row: %+v", other)
			}
			if len(f.seen.calls) != 2 {
				t.Errorf("observer calls %v, want two created", f.seen.calls)
			}
		})
	}
}

// TestImportMergesWithExistingContact: a row whose phone belongs to a
// contact updates that contact (adding the email and tags) and keeps its
// source.
func TestImportMergesWithExistingContact(t *testing.T) {
	f := newFixture(t, ImportOptions{})
	seed, err := f.store.Apply(f.ctx, contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: "+8613800138000"}},
		AddTags: []string{"wecom-fan"}, Fields: map[string]string{"source": "qr:expo"}})
	if err != nil {
		t.Fatal(err)
	}
	j := f.importFile([]byte("电话,邮箱,标签\n+86 138-0013-8000,a@b.cn,vip\n"), ImportRequest{})
	if j.Updated != 1 || j.Created != 0 {
		t.Fatalf("job %+v, want one update", j)
	}
	c := f.contact(contacts.KindEmail, "a@b.cn")
	got := []any{c.ID, c.Tags, c.Fields["source"], c.Identities["phone"]}
	want := []any{seed.ContactID, []string{"vip", "wecom-fan"}, "qr:expo", []string{"+8613800138000"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged contact (-want +got):\n%s", diff)
	}
	wantChanges := []ChangeSummary{{Line: 2, ContactID: seed.ContactID, Action: "update", Changes: []string{"identity email:a@b.cn", "tags +vip"}}}
	if diff := cmp.Diff(wantChanges, j.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{seed.ContactID + " updated"}, f.seen.calls); diff != "" {
		t.Errorf("observer (-want +got):\n%s", diff)
	}
}

// TestRejectsReport: per-row problems are rejected with line, column and
// reason, and the other rows import.
func TestRejectsReport(t *testing.T) {
	f := newFixture(t, ImportOptions{})
	optedOut, err := f.store.Apply(f.ctx, contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: "+8613700137000"}},
		Consent: []contacts.ConsentChange{{Channel: "sms", Status: contacts.ConsentOptedOut, Source: "SMS reply TD"}}})
	if err != nil {
		t.Fatal(err)
	}
	file := "手机号,姓名,负责人,consent:sms,同意日期\n" +
		"13800138000,好,rep.li,,\n" + // 2: fine
		"12345,坏号码,,,\n" + // 3: bad phone
		"13900139000,坏负责人,张三,,\n" + // 4: owner not a userid
		"138 0013 8000,重复,,,\n" + // 5: duplicate of line 2
		",没有身份,,,\n" + // 6: no identity
		"13600136000,坏同意,,也许,\n" + // 7: consent not understood
		"13500135000,坏日期,,是,昨天\n" + // 8: bad date
		"13700137000,退订过,,是,\n" + // 9: opted out before
		"13400134000,多一列,,,,extra\n" + // 10: too many cells
		",,,,\n" + // 11: empty, skipped
		"13300133000,也好,,,\n" // 12: fine
	j := f.importFile([]byte(file), ImportRequest{})
	gotJob := []int{j.RowsTotal, j.RowsDone, j.Created, j.Updated, j.Unchanged, j.Rejected}
	if diff := cmp.Diff([]int{10, 10, 2, 0, 0, 8}, gotJob); diff != "" {
		t.Errorf("rows_total, rows_done, created, updated, unchanged, rejected (-want +got):\n%s", diff)
	}
	var buf bytes.Buffer
	if err := f.im.WriteRejects(f.ctx, j.ID, &buf); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(strings.TrimPrefix(buf.String(), "\uFEFF")), "\n")
	for i, l := range got { // keep the reports short: the column and the reason's start
		if len(l) > 90 {
			got[i] = l[:90]
		}
	}
	want := []string{
		"line,column,reason",
		`3,手机号,"""12345"" is not a phone number: bad phone number: ""12345"" is not a mainland mob`,
		`4,负责人,"owner ""张三"" is not a WeCom userid (letters, digits, . _ - @; at most 64)"`,
		"5,手机号,duplicate: phone +8613800138000 is also on line 2",
		"6,,\"the row has no phone, email, openid, unionid or external_userid\"",
		`7,consent:sms,"consent ""也许"" is not understood; use opted_in/opted_out (or 是/否, yes/n`,
		`8,同意日期,"date ""昨天"" is not understood; use 2026-11-01 or 2026/11/01"`,
		`10,,the row has 6 cells but the header has 5 columns; quote values that contain commas`,
		`9,consent:sms,contact ` + optedOut.ContactID + ` opted out of sms (SMS reply TD); an import cannot opt t`,
	}
	for i := range want {
		if len(want[i]) > 90 {
			want[i] = want[i][:90]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejects.csv (-want +got):\n%s", diff)
	}
	if c := f.contact(contacts.KindPhone, "+8613700137000"); c.Consent["sms"] != contacts.ConsentOptedOut || c.Name != "" {
		t.Errorf("the opted-out contact was changed: %+v", c)
	}
	if len(j.Errors) != 8 {
		t.Errorf("status shows %d errors, want the 8 found so far", len(j.Errors))
	}
}

// TestDryRunWritesNothing: a dry run reports what would change and leaves
// every contact key as it was.
func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, ImportOptions{})
	if _, err := f.store.Apply(f.ctx, contacts.Change{Identities: []contacts.Identity{{Kind: contacts.KindPhone, Value: "+8613800138000"}}, Name: "旧名"}); err != nil {
		t.Fatal(err)
	}
	before := f.dump()
	j := f.importFile(readFixture(t, "utf8.csv"), ImportRequest{DryRun: true})
	if diff := cmp.Diff(before, f.dump()); diff != "" {
		t.Errorf("a dry run changed contact keys (-before +after):\n%s", diff)
	}
	got := []any{j.Status, j.DryRun, j.Created, j.Updated, len(j.Changes), j.Changes[0].Action, j.Changes[1].Action}
	if diff := cmp.Diff([]any{StatusDone, true, 1, 1, 2, "update", "create"}, got); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
	if !strings.Contains(strings.Join(j.Changes[0].Changes, "; "), "name 王伟") {
		t.Errorf("dry run does not say the name would change: %v", j.Changes[0].Changes)
	}
	if len(f.seen.calls) != 0 {
		t.Errorf("a dry run told the observer %v", f.seen.calls)
	}
}

// TestReimportChangesNothing: the same file again writes nothing at all.
func TestReimportChangesNothing(t *testing.T) {
	f := newFixture(t, ImportOptions{})
	first := f.importFile(readFixture(t, "utf8.csv"), ImportRequest{})
	before := f.dump()
	f.clock.Advance(3600e9)
	again := f.importFile(readFixture(t, "gbk.csv"), ImportRequest{})
	if diff := cmp.Diff(before, f.dump()); diff != "" {
		t.Errorf("re-import changed contact keys (-before +after):\n%s", diff)
	}
	got := []int{first.Created, again.Created, again.Updated, again.Unchanged}
	if diff := cmp.Diff([]int{2, 0, 0, 2}, got); diff != "" {
		t.Errorf("first created, again created, updated, unchanged (-want +got):\n%s", diff)
	}
}

// TestBadFileLeavesNothing: a bad header, format, encoding or size is
// refused before any contact changes, at upload or in the first pass.
func TestBadFileLeavesNothing(t *testing.T) {
	many := strings.Repeat("13800138000,好\n", 600)
	for _, tt := range []struct {
		name     string
		data     string
		req      ImportRequest
		atCreate error  // refused at upload
		inJob    string // else the job fails saying this
	}{
		{"unknown column", "手机号,姓名,生日\n13800138000,王,1990\n", ImportRequest{}, ErrBadFile, ""},
		{"no identity column", "姓名,公司\n王,云启\n", ImportRequest{}, ErrBadFile, ""},
		{"two name columns", "手机号,姓名,名字\n13800138000,王,王\n", ImportRequest{}, ErrBadFile, ""},
		{"empty", "", ImportRequest{}, ErrBadFile, ""},
		{"legacy xls", "\xD0\xCF\x11\xE0rest", ImportRequest{}, ErrBadFile, ""},
		{"utf-16", "\xFF\xFEa\x00", ImportRequest{}, ErrBadFile, ""},
		{"xlsx named but csv", "手机号\n13800138000\n", ImportRequest{Format: "xlsx"}, ErrBadFile, ""},
		{"bad mapping", "手机号\n13800138000\n", ImportRequest{Mapping: map[string]string{"手机号": "mobile"}}, ErrInvalid, ""},
		{"too large", "手机号\n" + strings.Repeat("13800138000\n", 200), ImportRequest{}, ErrTooLarge, ""},
		{"bad quote late in the file", "手机号,姓名\n" + many + "13900139000,\"王\"伟\n", ImportRequest{}, nil, "malformed at line 602"},
		{"gbk bytes late in a utf-8 file", "手机号,姓名\n" + many + "13900139000,\xcd\xf5\n", ImportRequest{Encoding: "utf-8"}, nil, "line 602 is not valid UTF-8"},
		{"not a workbook", "PK\x03\x04garbage", ImportRequest{}, nil, "not a readable .xlsx"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, ImportOptions{UploadLimit: 2000})
			if tt.name != "too large" {
				f.im.opt.UploadLimit = 1 << 20
			}
			j, err := f.im.Create(f.ctx, strings.NewReader(tt.data), tt.req)
			if tt.atCreate != nil {
				if !errors.Is(err, tt.atCreate) {
					t.Fatalf("Create: %v, want %v", err, tt.atCreate)
				}
				if keys, _ := f.rdb.Keys(f.ctx, "*").Result(); len(keys) != 0 {
					t.Errorf("a refused upload left keys %v", keys)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := f.im.Run(f.ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			j, _ = f.im.Get(f.ctx, j.ID)
			if j.Status != StatusFailed || !strings.Contains(j.Error, tt.inJob) {
				t.Errorf("job %s %q, want failed with %q", j.Status, j.Error, tt.inJob)
			}
			if keys := f.contactKeys(); len(keys) != 0 {
				t.Errorf("a failed import wrote %v", keys)
			}
			if n, _ := f.rdb.Exists(f.ctx, importFileKey(j.ID, 0)).Result(); n != 0 {
				t.Errorf("the failed job's file was kept")
			}
		})
	}
}

// TestImportResumesAfterCrash: a job stopped in the middle (its context
// cancelled, as when the process dies) runs again to the same end, every
// row applied once.
func TestImportResumesAfterCrash(t *testing.T) {
	f := newFixture(t, ImportOptions{Workers: 4})
	var b strings.Builder
	b.WriteString("手机号,标签\n")
	const n = 1500
	for i := range n {
		fmt.Fprintf(&b, "1380000%04d,batch\n", i)
	}
	j, err := f.im.Create(f.ctx, strings.NewReader(b.String()), ImportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel(f)
	f.seen.cancel = func(calls int) {
		if calls == 700 {
			cancel()
		}
	}
	if err := f.im.Run(ctx, j.ID); err == nil {
		t.Fatal("the interrupted run reported success")
	}
	mid, _ := f.im.Get(f.ctx, j.ID)
	if mid.Status != StatusImporting || mid.RowsDone == 0 || mid.RowsDone >= n {
		t.Fatalf("after the crash: %s, %d rows done; want importing, part done", mid.Status, mid.RowsDone)
	}
	f.seen.cancel = nil
	f.clock.Advance(31e9) // a crashed task is handed out again after its lease; so is a tag index duty
	if err := f.im.Run(f.ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	end, _ := f.im.Get(f.ctx, j.ID)
	if end.Status != StatusDone || end.RowsDone != n || end.Created+end.Unchanged != n || end.Rejected != 0 {
		t.Errorf("after resuming: %+v", end)
	}
	ids, err := f.store.WithTag(f.ctx, "batch")
	if err != nil || len(ids) != n {
		t.Fatalf("%d contacts tagged, want %d (%v)", len(ids), n, err)
	}
	tl, err := f.store.Timeline(f.ctx, ids[0], 0)
	if err != nil || len(tl) != 1 || tl[0].Type != TypeImported {
		t.Errorf("timeline %v, want one imported entry (%v)", tl, err)
	}
}
