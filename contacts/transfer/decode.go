package transfer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// File formats and encodings an import accepts.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"

	EncodingUTF8    = "utf-8"
	EncodingGB18030 = "gb18030" // a superset of GBK and GB2312, which Excel in China writes
)

// sniffPeek is how much of a CSV file decides its encoding when none is
// given: enough for thousands of rows of Chinese names.
const sniffPeek = 64 << 10

// maxCells bounds the columns of one row, so a file without line breaks
// cannot make one enormous row.
const maxCells = 256

// rows reads a file row by row. line is the 1-based line (CSV: where the
// record starts; XLSX: the row number) for the rejects report.
type rows interface {
	next() (line int, cells []string, err error) // io.EOF at the end
	close()
}

// normalizeFormat checks a format option; "" means detect.
func normalizeFormat(f string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(f)) {
	case "":
		return "", nil
	case "csv", "text/csv":
		return FormatCSV, nil
	case "xlsx":
		return FormatXLSX, nil
	}
	return "", fmt.Errorf("transfer: format %q is unknown; use csv or xlsx, or leave it out to detect: %w", f, ErrInvalid)
}

// normalizeEncoding checks an encoding option; "" means detect.
func normalizeEncoding(e string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(e)) {
	case "", "auto":
		return "", nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "gbk", "gb18030", "gb2312", "cp936":
		return EncodingGB18030, nil
	}
	return "", fmt.Errorf("transfer: encoding %q is unknown; use utf-8 or gbk, or leave it out to detect: %w", e, ErrInvalid)
}

// sniffFormat tells XLSX (a zip archive) from CSV by the first bytes.
func sniffFormat(head []byte, given string) (string, error) {
	isZip := bytes.HasPrefix(head, []byte("PK\x03\x04"))
	switch {
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0")):
		return "", fmt.Errorf("transfer: this is a legacy Excel .xls file; save it as .xlsx or CSV: %w", ErrBadFile)
	case given == FormatCSV && isZip:
		return "", fmt.Errorf("transfer: format csv was given but the file is a zip archive (an .xlsx?); pass format=xlsx: %w", ErrBadFile)
	case given == FormatXLSX && !isZip:
		return "", fmt.Errorf("transfer: format xlsx was given but the file is not an .xlsx (zip) archive: %w", ErrBadFile)
	case isZip:
		return FormatXLSX, nil
	}
	return FormatCSV, nil
}

// csvRows decodes CSV in UTF-8 (with or without BOM) or GB18030/GBK.
type csvRows struct {
	r   *csv.Reader
	enc string
}

// detectEncoding picks UTF-8 when the peeked start of the file is valid
// UTF-8 (a rune cut at the end of the peek is fine), else GB18030.
func detectEncoding(head []byte) string {
	for cut := 0; cut < utf8.UTFMax && cut < len(head); cut++ {
		if utf8.Valid(head[:len(head)-cut]) {
			return EncodingUTF8
		}
	}
	if utf8.Valid(head) {
		return EncodingUTF8
	}
	return EncodingGB18030
}

// newCSVRows wraps r; enc "" detects. It returns the encoding used.
func newCSVRows(r io.Reader, enc string) (*csvRows, error) {
	br := bufio.NewReaderSize(r, sniffPeek)
	head, err := br.Peek(sniffPeek)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		if enc == EncodingGB18030 {
			return nil, fmt.Errorf("transfer: encoding gbk was given but the file starts with a UTF-8 byte order mark; leave encoding out: %w", ErrBadFile)
		}
		_, _ = br.Discard(3)
		enc = EncodingUTF8
	case bytes.HasPrefix(head, []byte("\xFF\xFE")) || bytes.HasPrefix(head, []byte("\xFE\xFF")):
		return nil, fmt.Errorf("transfer: the file is UTF-16 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" or plain CSV: %w", ErrBadFile)
	case enc == "":
		enc = detectEncoding(head)
	}
	if enc == EncodingGB18030 {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return &csvRows{r: cr, enc: enc}, nil
}

func (c *csvRows) next() (int, []string, error) {
	rec, err := c.r.Read()
	if errors.Is(err, io.EOF) {
		return 0, nil, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return 0, nil, fmt.Errorf("transfer: the CSV is malformed at line %d: %v; check quotes and that the file is CSV: %w", pe.Line, pe.Err, ErrBadFile)
		}
		return 0, nil, err
	}
	line, _ := c.r.FieldPos(0)
	if len(rec) > maxCells {
		return 0, nil, fmt.Errorf("transfer: line %d has %d cells, more than %d; is this a CSV file?: %w", line, len(rec), maxCells, ErrBadFile)
	}
	for _, cell := range rec {
		switch {
		case c.enc == EncodingUTF8 && !utf8.ValidString(cell):
			return 0, nil, fmt.Errorf("transfer: line %d is not valid UTF-8; if the file is from Excel in China, pass encoding=gbk: %w", line, ErrBadFile)
		case c.enc == EncodingGB18030 && strings.ContainsRune(cell, utf8.RuneError):
			return 0, nil, fmt.Errorf("transfer: line %d is neither valid GBK nor GB18030; pass the file's encoding (encoding=utf-8 or gbk): %w", line, ErrBadFile)
		}
	}
	return line, rec, nil
}

func (c *csvRows) close() {}

// xlsxRows reads the first sheet of a workbook with raw cell values, so a
// phone number stored as a number reads 13800138000, not 1.38E+10.
type xlsxRows struct {
	f    *excelize.File
	rs   *excelize.Rows
	line int
}

func newXLSXRows(r io.Reader, uploadLimit int64) (*xlsxRows, error) {
	opt := excelize.Options{UnzipSizeLimit: max(uploadLimit*40, 64<<20), UnzipXMLSizeLimit: 16 << 20}
	f, err := excelize.OpenReader(r, opt)
	if err != nil {
		if errors.Is(err, ErrBadFile) {
			return nil, err
		}
		return nil, fmt.Errorf("transfer: the file is not a readable .xlsx workbook (%v); save it again from Excel or WPS: %w", err, ErrBadFile)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, fmt.Errorf("transfer: the workbook has no sheet: %w", ErrBadFile)
	}
	rs, err := f.Rows(sheets[0])
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("transfer: the first sheet %q cannot be read (%v): %w", sheets[0], err, ErrBadFile)
	}
	return &xlsxRows{f: f, rs: rs}, nil
}

func (x *xlsxRows) next() (int, []string, error) {
	if !x.rs.Next() {
		if err := x.rs.Error(); err != nil {
			return 0, nil, fmt.Errorf("transfer: the sheet is malformed after row %d (%v): %w", x.line, err, ErrBadFile)
		}
		return 0, nil, io.EOF
	}
	x.line++
	cells, err := x.rs.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, fmt.Errorf("transfer: row %d of the sheet cannot be read (%v): %w", x.line, err, ErrBadFile)
	}
	if len(cells) > maxCells {
		return 0, nil, fmt.Errorf("transfer: row %d has %d cells, more than %d: %w", x.line, len(cells), maxCells, ErrBadFile)
	}
	for _, c := range cells {
		if !utf8.ValidString(c) {
			return 0, nil, fmt.Errorf("transfer: row %d holds text that is not valid UTF-8: %w", x.line, ErrBadFile)
		}
	}
	return x.line, cells, nil
}

func (x *xlsxRows) close() {
	_ = x.rs.Close()
	_ = x.f.Close()
}
