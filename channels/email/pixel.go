package email

// openPixelGIF is the smallest widely accepted transparent GIF: 1x1, a
// two-colour table, colour 0 transparent.
const openPixelGIF = "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff" +
	"\x21\xf9\x04\x01\x00\x00\x00\x00" +
	"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b"

// OpenPixel returns the image served for open tracking. Each call returns a
// fresh copy, so a handler that writes or modifies it cannot corrupt the
// next response.
func OpenPixel() []byte { return []byte(openPixelGIF) }
