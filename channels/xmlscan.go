package channels

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrBadXML wraps every ScanXML failure, so callers can map it to one error code.
var ErrBadXML = errors.New("malformed XML")

const maxXMLDepth = 8

// ScanXML walks a WeChat-style XML document (a root element holding leaf
// elements, some nested a level or two, no attributes of interest) and calls
// fn with every leaf element's name and text, CDATA unwrapped and entities
// decoded. It exists because encoding/xml costs about a quarter of a callback's
// CPU; these documents need none of its generality. value aliases doc when it
// can, so fn must copy what it keeps.
func ScanXML(doc []byte, fn func(name, value []byte)) error {
	s := xmlScanner{doc: doc}
	s.skipProlog()
	if !s.consume('<') {
		return s.fail("expected a root element")
	}
	root, err := s.startTag()
	if err != nil {
		return err
	}
	if err := s.element(root, 1, fn); err != nil {
		return err
	}
	s.skipSpace()
	if s.pos != len(s.doc) {
		return s.fail("content after the root element")
	}
	return nil
}

type xmlScanner struct {
	doc []byte
	pos int
	buf []byte
}

func (s *xmlScanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrBadXML, what, s.pos)
}

func (s *xmlScanner) skipSpace() {
	for s.pos < len(s.doc) {
		switch s.doc[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func (s *xmlScanner) consume(c byte) bool {
	if s.pos < len(s.doc) && s.doc[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *xmlScanner) hasPrefix(p string) bool {
	return len(s.doc)-s.pos >= len(p) && string(s.doc[s.pos:s.pos+len(p)]) == p
}

// skipProlog passes over an XML declaration and comments before the root.
func (s *xmlScanner) skipProlog() {
	for {
		s.skipSpace()
		switch {
		case s.hasPrefix("<?"):
			if i := bytes.Index(s.doc[s.pos:], []byte("?>")); i >= 0 {
				s.pos += i + 2
				continue
			}
			return
		case s.hasPrefix("<!--"):
			if i := bytes.Index(s.doc[s.pos:], []byte("-->")); i >= 0 {
				s.pos += i + 3
				continue
			}
			return
		}
		return
	}
}

// startTag reads a name after '<' up to '>' and returns the name; attributes
// are skipped. A self-closing tag returns a name ending in '/'.
func (s *xmlScanner) startTag() ([]byte, error) {
	start := s.pos
	for s.pos < len(s.doc) && isNameByte(s.doc[s.pos]) {
		s.pos++
	}
	if s.pos == start {
		return nil, s.fail("expected an element name")
	}
	name := s.doc[start:s.pos]
	end := bytes.IndexByte(s.doc[s.pos:], '>')
	if end < 0 {
		return nil, s.fail("unterminated start tag")
	}
	rest := s.doc[s.pos : s.pos+end]
	s.pos += end + 1
	if len(rest) > 0 && rest[len(rest)-1] == '/' {
		return name[:len(name):len(name)], errSelfClosed
	}
	if len(rest) > 0 && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n' && rest[0] != '\r' {
		return nil, s.fail("bad character in element name")
	}
	return name, nil
}

var errSelfClosed = errors.New("self-closed")

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == ':' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// element reads the content of an open element up to and including its end tag.
func (s *xmlScanner) element(name []byte, depth int, fn func(name, value []byte)) error {
	if depth > maxXMLDepth {
		return s.fail("elements nested too deeply")
	}
	// Leading whitespace belongs to the value if this turns out to be a leaf.
	textStart := s.pos
	s.skipSpace()
	if s.hasPrefix("<") && !s.hasPrefix("<![CDATA[") && !s.hasPrefix("</") {
		return s.children(name, depth, fn)
	}
	s.pos = textStart
	value, err := s.text()
	if err != nil {
		return err
	}
	if err := s.endTag(name); err != nil {
		return err
	}
	fn(name, value)
	return nil
}

func (s *xmlScanner) children(name []byte, depth int, fn func(name, value []byte)) error {
	for {
		s.skipSpace()
		switch {
		case s.hasPrefix("</"):
			return s.endTag(name)
		case s.hasPrefix("<!--"):
			i := bytes.Index(s.doc[s.pos:], []byte("-->"))
			if i < 0 {
				return s.fail("unterminated comment")
			}
			s.pos += i + 3
		case s.consume('<'):
			child, err := s.startTag()
			if errors.Is(err, errSelfClosed) {
				fn(child, nil)
				continue
			}
			if err != nil {
				return err
			}
			if err := s.element(child, depth+1, fn); err != nil {
				return err
			}
		default:
			return s.fail("text between elements")
		}
	}
}

// text reads character data and CDATA sections up to the next '<' that is not
// a CDATA start. The result aliases doc when no copying was needed.
func (s *xmlScanner) text() ([]byte, error) {
	var out []byte
	aliased := true
	appendPart := func(part []byte, copyNeeded bool) {
		switch {
		case out == nil && !copyNeeded:
			out = part
		default:
			if aliased {
				s.buf = append(s.buf[:0], out...)
				aliased = false
			}
			s.buf = append(s.buf, part...)
			out = s.buf
		}
	}
	for s.pos < len(s.doc) {
		if s.hasPrefix("<![CDATA[") {
			s.pos += len("<![CDATA[")
			end := bytes.Index(s.doc[s.pos:], []byte("]]>"))
			if end < 0 {
				return nil, s.fail("unterminated CDATA")
			}
			appendPart(s.doc[s.pos:s.pos+end], out != nil)
			s.pos += end + 3
			continue
		}
		if s.doc[s.pos] == '<' {
			if out == nil {
				out = s.doc[s.pos:s.pos]
			}
			return out, nil
		}
		end := bytes.IndexByte(s.doc[s.pos:], '<')
		if end < 0 {
			return nil, s.fail("unterminated element")
		}
		raw := s.doc[s.pos : s.pos+end]
		s.pos += end
		if bytes.IndexByte(raw, '&') < 0 {
			appendPart(raw, out != nil)
			continue
		}
		decoded, err := unescapeXML(raw)
		if err != nil {
			return nil, s.fail(err.Error())
		}
		appendPart(decoded, true)
	}
	return nil, s.fail("unterminated element")
}

func (s *xmlScanner) endTag(name []byte) error {
	if !s.hasPrefix("</") {
		return s.fail("expected an end tag")
	}
	s.pos += 2
	if !bytes.HasPrefix(s.doc[s.pos:], name) {
		return s.fail("end tag does not match " + string(name))
	}
	s.pos += len(name)
	s.skipSpace()
	if !s.consume('>') {
		return s.fail("unterminated end tag")
	}
	return nil
}

var xmlEntities = map[string]byte{"lt": '<', "gt": '>', "amp": '&', "quot": '"', "apos": '\''}

func unescapeXML(raw []byte) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '&' {
			out = append(out, c)
			continue
		}
		semi := bytes.IndexByte(raw[i:], ';')
		if semi < 0 || semi > 12 {
			return nil, errors.New("bad entity")
		}
		ent := string(raw[i+1 : i+semi])
		i += semi
		if b, ok := xmlEntities[ent]; ok {
			out = append(out, b)
			continue
		}
		r, ok := parseCharRef(ent)
		if !ok {
			return nil, errors.New("unknown entity &" + ent + ";")
		}
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

func parseCharRef(ent string) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	base, digits := 10, ent[1:]
	if digits[0] == 'x' || digits[0] == 'X' {
		base, digits = 16, digits[1:]
	}
	if digits == "" {
		return 0, false
	}
	var r rune
	for _, d := range []byte(digits) {
		var v rune
		switch {
		case d >= '0' && d <= '9':
			v = rune(d - '0')
		case base == 16 && d >= 'a' && d <= 'f':
			v = rune(d-'a') + 10
		case base == 16 && d >= 'A' && d <= 'F':
			v = rune(d-'A') + 10
		default:
			return 0, false
		}
		r = r*rune(base) + v
		if r > 0x10FFFF {
			return 0, false
		}
	}
	return r, true
}
