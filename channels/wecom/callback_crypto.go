package wecom

import (
	"bytes"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// maxPooledScratch keeps one oversized request from pinning its buffer in the
// pool for good.
const maxPooledScratch = 64 << 10

// open checks the signature, then the timestamp, then decrypts encrypt and
// returns the message WeCom sealed in it.
func (c *Callback) open(msgSignature, timestamp, nonce string, encrypt []byte) ([]byte, error) {
	sp := c.getScratch()
	defer c.putScratch(sp)
	if err := c.checkSignature(msgSignature, timestamp, nonce, encrypt, sp); err != nil {
		return nil, err
	}
	if err := c.checkFresh(timestamp); err != nil {
		return nil, err
	}
	return c.decrypt(encrypt, sp)
}

func (c *Callback) getScratch() *[]byte {
	if sp, ok := c.scratch.Get().(*[]byte); ok {
		return sp
	}
	b := make([]byte, 0, 2048)
	return &b
}

func (c *Callback) putScratch(sp *[]byte) {
	if cap(*sp) <= maxPooledScratch {
		*sp = (*sp)[:0]
		c.scratch.Put(sp)
	}
}

func (c *Callback) checkSignature(msgSignature, timestamp, nonce string, encrypt []byte, sp *[]byte) error {
	if msgSignature == "" {
		return fmt.Errorf("%w: the msg_signature query parameter is missing", ErrSignature)
	}
	var got, want [2 * sha1.Size]byte
	if len(msgSignature) != len(got) {
		return fmt.Errorf("%w: msg_signature has %d characters, want %d hex digits", ErrSignature, len(msgSignature), len(got))
	}
	copy(got[:], msgSignature)
	want = c.signature(timestamp, nonce, encrypt, sp)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return fmt.Errorf("%w: it does not match the request", ErrSignature)
	}
	return nil
}

// signature is util.Signature(token, timestamp, nonce, encrypt) without its
// allocations (variadic slice, hash state, fmt): it joins the four parts in a
// pooled buffer, sorts them in place and hashes with sha1.Sum.
func (c *Callback) signature(timestamp, nonce string, encrypt []byte, sp *[]byte) [2 * sha1.Size]byte {
	b := append((*sp)[:0], c.token...)
	b = append(b, timestamp...)
	b = append(b, nonce...)
	b = append(b, encrypt...)
	n := len(b)
	b = slices.Grow(b, n) // the sorted copy goes after the parts; no reallocation below
	t1 := len(c.token)
	t2 := t1 + len(timestamp)
	t3 := t2 + len(nonce)
	parts := [4][]byte{b[:t1], b[t1:t2], b[t2:t3], b[t3:n]}
	for i := 1; i < len(parts); i++ {
		for j := i; j > 0 && bytes.Compare(parts[j], parts[j-1]) < 0; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	sum := sha1.Sum(b[n:])
	*sp = b
	var out [2 * sha1.Size]byte
	hex.Encode(out[:], sum[:])
	return out
}

func (c *Callback) checkFresh(timestamp string) error {
	if timestamp == "" {
		return fmt.Errorf("%w: the timestamp query parameter is missing", ErrStale)
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not unix seconds", ErrStale, clip(timestamp))
	}
	d := c.now().Sub(time.Unix(ts, 0))
	if d > c.maxSkew || d < -c.maxSkew {
		return fmt.Errorf("%w: timestamp %d is %s from now, more than %s", ErrStale, ts, d.Abs().Round(time.Second), c.maxSkew)
	}
	return nil
}

// decrypt opens the base64 ciphertext with the precomputed key and checks
// that it was sealed for our corp. The result does not alias sp.
func (c *Callback) decrypt(encrypt []byte, sp *[]byte) ([]byte, error) {
	n := base64.StdEncoding.DecodedLen(len(encrypt))
	b := slices.Grow((*sp)[:0], n)[:n]
	*sp = b[:0]
	m, err := base64.StdEncoding.Decode(b, encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: Encrypt is not base64 (%v)", ErrDecrypt, err)
	}
	_, msg, receiveID, err := util.AESDecryptMsg(b[:m], c.key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if string(receiveID) != c.corpID {
		return nil, fmt.Errorf("%w: sealed for ReceiveId %q, not the configured corp id", ErrDecrypt, clip(string(receiveID)))
	}
	return msg, nil
}
