package server

import (
	"bytes"
	"errors"
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

func TestHandleKeyRotation(t *testing.T) {
	dir := t.TempDir()
	kr, err := openKeyRing(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &handleCodec{keys: kr, now: time.Now}
	old, _ := c.encode(stmtHandle{SQL: "SELECT 1"})
	newID, err := RotateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // let the ring re-read the file for an unknown kid
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

func TestLike(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		if got := likeMatch(&pattern, s); got != want {
			t.Fatalf("%q LIKE %q: got %v; want %v", s, pattern, got, want)
		}
	}
	f("%", "", true)
	f("%", "events", true)
	f("ev%", "events", true)
	f("ev%", "xevents", false)
	f("even_s", "events", true)
	f("even_s", "evens", false)
	f("%nt%", "events", true)
	f(`a\_b`, "a_b", true)
	f(`a\_b`, "axb", false)
	f("public", "Public", false)
	if !likeMatch(nil, "anything") {
		t.Fatal("a nil pattern must match everything")
	}
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
