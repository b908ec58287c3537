package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// The WeChat message crypto, shared by WeCom and the official account's safe
// mode: AES-256-CBC with IV = key[:16] over random(16) | len(4, big endian) |
// message | receiver id, padded PKCS#7 to a 32-byte block, then base64.

const wxBlock = 32

// decodeAESKey turns a 43-character EncodingAESKey into the 32-byte AES key.
func decodeAESKey(encoded string) ([]byte, error) {
	if len(encoded) != 43 {
		return nil, fmt.Errorf("%w: it has %d characters, want 43", ErrAESKey, len(encoded))
	}
	key, err := base64.StdEncoding.DecodeString(encoded + "=")
	if err != nil {
		return nil, fmt.Errorf("%w: not base64: %v", ErrAESKey, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: decodes to %d bytes, want 32", ErrAESKey, len(key))
	}
	return key, nil
}

// encryptMsg encrypts msg for receiverID. random must be 16 bytes, or nil to
// draw fresh ones (tests pass fixed bytes to compare with published vectors).
func encryptMsg(key []byte, receiverID string, msg, random []byte) (string, error) {
	if random == nil {
		random = make([]byte, 16)
		if _, err := rand.Read(random); err != nil {
			return "", fmt.Errorf("draw random prefix: %w", err)
		}
	}
	if len(random) != 16 {
		return "", fmt.Errorf("%w: random prefix has %d bytes, want 16", ErrCiphertext, len(random))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrAESKey, err)
	}
	var buf bytes.Buffer
	buf.Write(random)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(receiverID)
	pad := wxBlock - buf.Len()%wxBlock
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	plain := buf.Bytes()
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain), nil
}

// decryptMsg reverses encryptMsg and returns the message and its receiver id;
// the caller compares the id with the corp id or app id it expects.
func decryptMsg(key []byte, encrypted string) (msg []byte, receiverID string, err error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encrypted))
	if err != nil {
		return nil, "", fmt.Errorf("%w: not base64: %v", ErrCiphertext, err)
	}
	if len(raw) < wxBlock || len(raw)%aes.BlockSize != 0 {
		return nil, "", fmt.Errorf("%w: %d bytes is not a positive multiple of the AES block", ErrCiphertext, len(raw))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrAESKey, err)
	}
	plain := make([]byte, len(raw))
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(plain, raw)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > wxBlock || pad > len(plain) {
		return nil, "", fmt.Errorf("%w: bad PKCS#7 padding (wrong key?)", ErrCiphertext)
	}
	for _, b := range plain[len(plain)-pad:] {
		if int(b) != pad {
			return nil, "", fmt.Errorf("%w: bad PKCS#7 padding (wrong key?)", ErrCiphertext)
		}
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < 20 {
		return nil, "", fmt.Errorf("%w: %d bytes is too short for the random prefix and length", ErrCiphertext, len(plain))
	}
	n := binary.BigEndian.Uint32(plain[16:20])
	if uint64(n) > uint64(len(plain)-20) {
		return nil, "", fmt.Errorf("%w: length field %d exceeds the %d bytes left", ErrCiphertext, n, len(plain)-20)
	}
	return plain[20 : 20+n], string(plain[20+n:]), nil
}

// wxSignature is hex(sha1(sorted parts concatenated)), the signature of both
// the plain-mode signature and the safe-mode msg_signature.
func wxSignature(parts ...string) string {
	sorted := append([]string(nil), parts...)
	sort.Strings(sorted)
	h := sha1.New()
	for _, p := range sorted {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// wxSignatureOK compares in constant time so a caller cannot probe it byte by byte.
func wxSignatureOK(got string, parts ...string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(wxSignature(parts...))) == 1
}
