package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func mustKeyRing(t testing.TB) *keyRing {
	t.Helper()
	kr, err := openKeyRing(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestHandleRoundTripAndTampering(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	c := &handleCodec{keys: mustKeyRing(t), now: func() time.Time { return now }}
	b, err := c.encode(stmtHandle{SQL: "SELECT 1", Subject: "rita"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.decode(b)
	if err != nil {
		t.Fatalf("decode a genuine handle: %v", err)
	}
	if h.SQL != "SELECT 1" || h.Subject != "rita" || h.Expires != now.Add(handleTTL).Unix() {
		t.Fatalf("got %+v; want SELECT 1 for rita expiring in %s", h, handleTTL)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x20
		if _, err := c.decode(bad); err == nil {
			t.Fatalf("byte %d flipped: decode accepted %q", i, bad)
		}
	}
	other := &handleCodec{keys: mustKeyRing(t), now: c.now}
	if _, err := other.decode(b); !errors.Is(err, ErrForgedHandle) {
		t.Fatalf("handle of another key ring: %v; want ErrForgedHandle", err)
	}
	later := &handleCodec{keys: c.keys, now: func() time.Time { return now.Add(handleTTL + time.Second) }}
	if _, err := later.decode(b); !errors.Is(err, ErrExpiredHandle) {
		t.Fatalf("expired handle: %v; want ErrExpiredHandle", err)
	}
	if _, err := c.decode([]byte("SELECT 1")); !errors.Is(err, ErrMalformedHandle) {
		t.Fatalf("bare SQL: %v; want ErrMalformedHandle", err)
	}
}

// fakeClock is a settable clock for key rings and codecs.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestHandleKeyRotation(t *testing.T) {
	dir := t.TempDir()
	kr, err := openKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	kr.now = clock.now
	c := &handleCodec{keys: kr, now: time.Now}
	old, _ := c.encode(stmtHandle{SQL: "SELECT 1"})
	newID, err := RotateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(keyRecheckInterval) // let the ring notice the changed file
	fresh := &handleCodec{keys: mustReopen(t, dir), now: time.Now}
	if kid, _ := fresh.keys.signing(); kid != newID {
		t.Fatalf("signing key %q after rotation; want %q", kid, newID)
	}
	if _, err := fresh.decode(old); err != nil {
		t.Fatalf("handle of the previous key after rotation: %v", err)
	}
	rotated, _ := fresh.encode(stmtHandle{SQL: "SELECT 2"})
	if _, err := c.decode(rotated); err != nil {
		t.Fatalf("running ring did not pick up the rotated key: %v", err)
	}
	if kid, _ := kr.signing(); kid != newID {
		t.Fatalf("running ring signs with %q after rotation; want %q", kid, newID)
	}
}

// TestKeyRemovedFromFileStopsVerifying deletes a key from the key file of a running ring:
// within keyRecheckInterval, handles and tokens of that key are refused, although the
// ring already knew it.
func TestKeyRemovedFromFileStopsVerifying(t *testing.T) {
	dir := t.TempDir()
	kr, err := openKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	kr.now = clock.now
	c := &handleCodec{keys: kr, now: time.Now}
	oldID, _ := kr.signing()
	old, _ := c.encode(stmtHandle{SQL: "SELECT 1"})
	if _, err := c.decode(old); err != nil {
		t.Fatal(err)
	}
	if _, err := RotateKey(dir); err != nil {
		t.Fatal(err)
	}
	kf, err := readKeyFile(filepath.Join(dir, keysFileName))
	if err != nil {
		t.Fatal(err)
	}
	delete(kf.Keys, oldID)
	data, _ := json.Marshal(kf)
	if err := writeFileSync(filepath.Join(dir, keysFileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.decode(old); err != nil {
		t.Fatalf("before the recheck interval: %v; want the known key still accepted", err)
	}
	clock.advance(keyRecheckInterval)
	if _, err := c.decode(old); !errors.Is(err, ErrForgedHandle) {
		t.Fatalf("handle of a key deleted from the file: %v; want ErrForgedHandle", err)
	}
	if _, ok := kr.key(oldID); ok {
		t.Fatalf("token key %q still known after its deletion from the file", oldID)
	}
}

// TestKeyIDAndHandleKeyRevealNothing checks that a key id (public: every token header
// carries it) holds no byte of the key, and that handles are signed with a key derived
// for them, not with the key that signs JWTs.
func TestKeyIDAndHandleKeyRevealNothing(t *testing.T) {
	kr := mustKeyRing(t)
	kid, key := kr.signing()
	if strings.Contains(kid, base64.RawURLEncoding.EncodeToString(key[:3])) {
		t.Fatalf("key id %q contains the start of the key", kid)
	}
	c := &handleCodec{keys: kr, now: time.Now}
	b, err := c.encode(stmtHandle{SQL: "SELECT 1"})
	if err != nil {
		t.Fatal(err)
	}
	signed, sig := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	mac := hmac.New(sha256.New, key)
	mac.Write(signed)
	if hmac.Equal(mac.Sum(nil), sig) {
		t.Fatal("the handle is signed with the JWT signing key itself; want a key derived for handles")
	}
}

func mustReopen(t *testing.T, dir string) *keyRing {
	t.Helper()
	kr, err := openKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestHandleParams(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "0", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	enc, err := encodeParams(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeParams(memory.DefaultAllocator, enc)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !array.RecordEqual(got, rec) {
		t.Fatalf("params round trip: got %v; want %v", got, rec)
	}
}

// FuzzHandleDecode feeds arbitrary bytes to the handle decoder: it must never panic and
// never accept anything it did not sign.
func FuzzHandleDecode(f *testing.F) {
	c := &handleCodec{keys: mustKeyRing(f), now: time.Now}
	genuine, _ := c.encode(stmtHandle{SQL: "SELECT host FROM events", Params: []byte{1, 2, 3}})
	f.Add(genuine)
	f.Add([]byte("sf1.{}"))
	f.Add([]byte("sf1.{\"sql\":\"x\",\"kid\":\"k1\",\"exp\":99999999999}0123456789012345678901234567890"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := c.decode(b)
		if err == nil && !bytes.Equal(b, genuine) {
			t.Fatalf("accepted a handle it did not sign: %q -> %+v", b, h)
		}
	})
}

func TestParseBasic(t *testing.T) {
	f := func(cred, wantUser, wantPass string, ok bool) {
		t.Helper()
		u, p, err := parseBasic(cred)
		if (err == nil) != ok || u != wantUser || p != wantPass {
			t.Fatalf("parseBasic(%q): %q, %q, %v; want %q, %q, ok=%v", cred, u, p, err, wantUser, wantPass, ok)
		}
	}
	f("cml0YTpzZWNyZXQ=", "rita", "secret", true)  // padded (Java)
	f("cml0YTpzZWNyZXQ", "rita", "secret", true)   // unpadded (Go)
	f("cml0YTpzZTpjcmV0", "rita", "se:cret", true) // a colon in the password
	f("bm9jb2xvbg==", "", "", false)               // "nocolon"
	f("!!!", "", "", false)
}

func TestRoleOrderAndParse(t *testing.T) {
	if !(RoleAdmin > RoleWriter && RoleWriter > RoleReader && RoleReader > RoleNone) {
		t.Fatal("roles must be ordered admin > writer > reader > none")
	}
	for s, want := range map[string]Role{"admin": RoleAdmin, "Writer": RoleWriter, " reader ": RoleReader} {
		if got, err := ParseRole(s); err != nil || got != want {
			t.Fatalf("ParseRole(%q): %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Fatal("ParseRole(root) succeeded")
	}
}
