package email

import (
	"bytes"
	"image/gif"
	"testing"
)

func TestOpenPixel(t *testing.T) {
	img, err := gif.Decode(bytes.NewReader(OpenPixel()))
	if err != nil {
		t.Fatalf("decoding the pixel: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1 || b.Dy() != 1 {
		t.Errorf("pixel is %dx%d, want 1x1", b.Dx(), b.Dy())
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("pixel alpha = %d, want 0 (transparent)", a)
	}
}

func TestOpenPixelIsAFreshCopy(t *testing.T) {
	p := OpenPixel()
	want := append([]byte(nil), p...)
	p[0] = 'X'
	if got := OpenPixel(); !bytes.Equal(got, want) {
		t.Errorf("changing one result changed the next: %q", got)
	}
}
