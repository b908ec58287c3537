package officialaccount

import (
	"strings"
	"unicode/utf8"
)

// appendCDATA writes s as one or more CDATA sections; a "]]>" inside s is
// split across two sections, so no text can close the element early.
func appendCDATA(b []byte, s string) []byte {
	b = append(b, "<![CDATA["...)
	for {
		i := strings.Index(s, "]]>")
		if i < 0 {
			break
		}
		b = append(b, s[:i+2]...)
		b = append(b, "]]><![CDATA["...)
		s = s[i+2:]
	}
	b = append(b, s...)
	return append(b, "]]>"...)
}

// appendElement writes <name><![CDATA[value]]></name>.
func appendElement(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendCDATA(b, value)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendRaw writes <name>value</name> for values known to need no escaping.
func appendRaw(b []byte, name, value string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = append(b, value...)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// validXMLText reports whether s is valid UTF-8 made only of characters XML
// 1.0 allows; WeChat rejects a reply with anything else.
func validXMLText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}
