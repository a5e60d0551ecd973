package report

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/waspada/waspada/detectors/email/address"
)

// PurposeNotMe is the purpose of the "this registration used my email, it
// was not me" link and reply address. A token for one purpose never
// verifies for another.
const PurposeNotMe = "not-me"

// Token errors. Verification failures other than ErrTokenMalformed and
// ErrTokenUnknownKey are deliberately not told apart further: a tampered
// token, a wrong purpose and a wrong address all fail the same MAC.
var (
	ErrTokenMalformed  = errors.New("token: malformed")
	ErrTokenUnknownKey = errors.New("token: unknown key id")
	ErrTokenInvalid    = errors.New("token: invalid (tampered, or for another purpose, address or registration)")
	ErrTokenExpired    = errors.New("token: expired")
)

const (
	tokenVersion  = 1
	macLen        = 16 // 128-bit truncated HMAC-SHA256
	maxKeyIDLen   = 16
	maxRegIDLen   = 64
	minSecretLen  = 16
	tokenMACLabel = "waspada/token/v1"
)

// The token travels in a URL and in an email local part, where case may be
// folded: lower-case base32 without padding, decoded case-insensitively.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Keyring holds the HMAC secrets by key id. Issue uses Current; Verify
// accepts any key still in Keys, so that rotating means: add the new key,
// make it Current, remove the old one after the longest token lifetime.
// A Keyring is read-only after construction and safe for concurrent use.
type Keyring struct {
	Current string
	Keys    map[string][]byte
}

// Validate lists every problem with the keyring.
func (k Keyring) Validate() error {
	var errs []error
	if k.Current == "" {
		errs = append(errs, errors.New("keyring: no current key id"))
	} else if _, ok := k.Keys[k.Current]; !ok {
		errs = append(errs, fmt.Errorf("keyring: current key id %q has no secret", k.Current))
	}
	ids := make([]string, 0, len(k.Keys))
	for id := range k.Keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if id == "" || len(id) > maxKeyIDLen {
			errs = append(errs, fmt.Errorf("keyring: key id %q must be 1..%d bytes", id, maxKeyIDLen))
		}
		if len(k.Keys[id]) < minSecretLen {
			errs = append(errs, fmt.Errorf("keyring: secret of key %q is %d bytes, need at least %d", id, len(k.Keys[id]), minSecretLen))
		}
	}
	return errors.Join(errs...)
}

// Claims is what a token carries or is bound to.
type Claims struct {
	KeyID          string
	RegistrationID string
	Expires        time.Time
	// ID identifies the token for the single-use store (hex of the MAC).
	ID string
}

// UsedStore records tokens (and report message ids) that were used, so that
// each is accepted once. MarkUsed returns true the first time it sees key
// and false afterwards; until is when the entry may be forgotten (the
// token's expiry: after it the token fails anyway). Errors are transient.
// Implementations must be safe for concurrent use.
type UsedStore interface {
	MarkUsed(ctx context.Context, key string, until time.Time) (first bool, err error)
}

// Issue returns a token bound to purpose, the canonical form of addr,
// registrationID and expires, signed with the current key.
func (k Keyring) Issue(purpose, addr, registrationID string, expires time.Time) (string, error) {
	a, err := address.Parse(addr)
	if err != nil {
		return "", err
	}
	secret, ok := k.Keys[k.Current]
	if !ok || k.Current == "" {
		return "", ErrTokenUnknownKey
	}
	if len(k.Current) > maxKeyIDLen || registrationID == "" || len(registrationID) > maxRegIDLen {
		return "", fmt.Errorf("%w: key id or registration id too long or empty", ErrTokenMalformed)
	}
	exp := expires.Unix()
	if exp <= 0 || exp > 1<<32-1 {
		return "", fmt.Errorf("%w: expiry out of range", ErrTokenMalformed)
	}
	p := make([]byte, 0, 8+len(k.Current)+len(registrationID)+macLen)
	p = append(p, tokenVersion, byte(len(k.Current)))
	p = append(p, k.Current...)
	p = binary.BigEndian.AppendUint32(p, uint32(exp))
	p = append(p, byte(len(registrationID)))
	p = append(p, registrationID...)
	p = append(p, mac(secret, purpose, a.Canonical, p)...)
	return b32.EncodeToString(p), nil
}

func mac(secret []byte, purpose, canonical string, payload []byte) []byte {
	h := hmac.New(sha256.New, secret)
	// Length-prefix every field so that no two inputs share an encoding.
	for _, f := range []string{tokenMACLabel, purpose, canonical} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	h.Write(payload)
	return h.Sum(nil)[:macLen]
}

// ParseToken decodes a token without verifying it, so that the caller can
// look up the registration it names. Never act on unverified claims.
func ParseToken(tok string) (Claims, error) {
	c, _, _, err := parse(tok)
	return c, err
}

func parse(tok string) (Claims, []byte, []byte, error) {
	var c Claims
	if len(tok) == 0 || len(tok) > 256 {
		return c, nil, nil, ErrTokenMalformed
	}
	tok = strings.ToLower(tok)
	b, err := b32.DecodeString(tok)
	// Reject non-canonical encodings (stray bits in the last character), so
	// that one token has exactly one spelling up to case.
	if err != nil || len(b) < 2+1+4+1+1+macLen || b[0] != tokenVersion || b32.EncodeToString(b) != tok {
		return c, nil, nil, ErrTokenMalformed
	}
	payload, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	r := payload[1:]
	kl := int(r[0])
	if kl == 0 || kl > maxKeyIDLen || len(r) < 1+kl+4+1 {
		return c, nil, nil, ErrTokenMalformed
	}
	c.KeyID = string(r[1 : 1+kl])
	r = r[1+kl:]
	c.Expires = time.Unix(int64(binary.BigEndian.Uint32(r[:4])), 0).UTC()
	r = r[4:]
	rl := int(r[0])
	if rl == 0 || len(r) != 1+rl {
		return c, nil, nil, ErrTokenMalformed
	}
	c.RegistrationID = string(r[1:])
	c.ID = hex.EncodeToString(sum)
	return c, payload, sum, nil
}

// Verify checks tok for purpose and the canonical form of addr at now.
// The MAC is compared in constant time. Single use is the caller's job
// (UsedStore keyed by Claims.ID), after every other check passed.
func (k Keyring) Verify(tok, purpose, addr string, now time.Time) (Claims, error) {
	c, payload, sum, err := parse(tok)
	if err != nil {
		return Claims{}, err
	}
	secret, ok := k.Keys[c.KeyID]
	if !ok {
		return Claims{}, ErrTokenUnknownKey
	}
	a, err := address.Parse(addr)
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	if !hmac.Equal(mac(secret, purpose, a.Canonical, payload), sum) {
		return Claims{}, ErrTokenInvalid
	}
	if !now.Before(c.Expires) {
		return c, ErrTokenExpired
	}
	return c, nil
}

// MemoryStore is an in-process UsedStore for one instance (tests, the CLI,
// a single-node deployment). Entries are dropped after their until time.
type MemoryStore struct {
	mu   sync.Mutex
	seen map[string]time.Time
	Now  func() time.Time
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{seen: map[string]time.Time{}, Now: time.Now}
}

// MarkUsed implements UsedStore.
func (s *MemoryStore) MarkUsed(ctx context.Context, key string, until time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if len(s.seen) > 4096 {
		for k, u := range s.seen {
			if now.After(u) {
				delete(s.seen, k)
			}
		}
	}
	if u, ok := s.seen[key]; ok && !now.After(u) {
		return false, nil
	}
	s.seen[key] = until
	return true, nil
}
