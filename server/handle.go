package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// handleMagic starts every statement handle and ticket this version issues; a handle
// without it was not made by sigmaflight (or by an incompatible version).
var handleMagic = []byte("sf1.")

// handleTTL bounds how long a prepared statement handle or ticket stays redeemable. It is
// long because BI tools keep prepared statements open for a whole session, and short
// enough that a leaked handle stops working the next day.
const handleTTL = 24 * time.Hour

// maxHandleParamBytes bounds the parameter batch carried in a handle: handles travel in
// every GetFlightInfo and DoGet, so bulk data belongs in ingest, not in parameters.
const maxHandleParamBytes = 4 << 20

// maxHandleParamRows bounds the parameter rows bound to one statement: each row is
// planned when it is bound, and a Null-typed column of a million rows takes no bytes
// (found in review: a reader could keep the server planning for minutes).
const maxHandleParamRows = 10_000

var (
	// ErrForgedHandle is returned for a handle or ticket whose signature does not verify.
	ErrForgedHandle = errors.New("statement handle or ticket has an invalid signature (not issued by this cluster, or altered)")
	// ErrExpiredHandle is returned for a handle or ticket past its expiry.
	ErrExpiredHandle = errors.New("statement handle or ticket has expired: prepare the statement again")
	// ErrMalformedHandle is returned for bytes that are not a sigmaflight handle at all.
	ErrMalformedHandle = errors.New("statement handle or ticket is malformed")
)

// stmtHandle is what a prepared-statement handle or a query ticket carries: everything
// needed to run the statement on any node, so the server keeps no per-statement state.
type stmtHandle struct {
	SQL string `json:"sql"`
	// Schema is the default schema of the statement's unqualified table names: the
	// session's `schema` option when the statement was created ("" is public).
	Schema string `json:"sc,omitempty"`
	// Params is an Arrow IPC stream of the bound parameter rows (nil when none are bound).
	Params []byte `json:"p,omitempty"`
	// Subject is the user the handle was issued to ("" without authentication).
	Subject string `json:"sub,omitempty"`
	// Expires is the Unix time in seconds after which the handle is refused.
	Expires int64 `json:"exp"`
	// KeyID names the key that signed the handle.
	KeyID string `json:"kid"`
	// Exec is the execution id of a ticket: random, fresh in every FlightInfo, so
	// CancelFlightInfo stops exactly that execution. Empty in prepared statement handles.
	Exec string `json:"x,omitempty"`
}

// handleCodec signs and verifies handles with the node's key ring.
type handleCodec struct {
	keys *keyRing
	now  func() time.Time
}

// encode signs h: magic | json | 32-byte HMAC-SHA256 of magic|json, keyed with the
// handle key derived from the current key (keyRing.handleSigning).
func (c *handleCodec) encode(h stmtHandle) ([]byte, error) {
	kid, key := c.keys.handleSigning()
	h.KeyID = kid
	if h.Expires == 0 {
		h.Expires = c.now().Add(handleTTL).Unix()
	}
	body, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode handle: %w", err)
	}
	out := make([]byte, 0, len(handleMagic)+len(body)+sha256.Size)
	out = append(out, handleMagic...)
	out = append(out, body...)
	mac := hmac.New(sha256.New, key)
	mac.Write(out)
	return mac.Sum(out), nil
}

// decode verifies and returns the handle in b.
func (c *handleCodec) decode(b []byte) (stmtHandle, error) {
	var h stmtHandle
	if len(b) < len(handleMagic)+sha256.Size+2 || !bytes.HasPrefix(b, handleMagic) {
		return h, ErrMalformedHandle
	}
	signed, sig := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if err := json.Unmarshal(signed[len(handleMagic):], &h); err != nil {
		return h, ErrMalformedHandle
	}
	key, ok := c.keys.handleKey(h.KeyID)
	if !ok {
		return stmtHandle{}, ErrForgedHandle
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(signed)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return stmtHandle{}, ErrForgedHandle
	}
	if c.now().Unix() > h.Expires {
		return stmtHandle{}, ErrExpiredHandle
	}
	return h, nil
}

// encodeParams serialises a parameter batch as an Arrow IPC stream.
func encodeParams(rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	if buf.Len() > maxHandleParamBytes {
		return nil, fmt.Errorf("parameters take %d bytes; at most %d fit in a statement handle (use bulk ingest for data)", buf.Len(), maxHandleParamBytes)
	}
	return buf.Bytes(), nil
}

// decodeParams reads the parameter batch of a verified handle. The bytes were produced
// by encodeParams and covered by the handle's signature, so they are trusted input.
func decodeParams(mem memory.Allocator, b []byte) (arrow.RecordBatch, error) {
	r, err := ipc.NewReader(bytes.NewReader(b), ipc.WithAllocator(mem))
	if err != nil {
		return nil, fmt.Errorf("decode parameters: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("decode parameters: %w", err)
		}
		return nil, errors.New("decode parameters: no batch")
	}
	rec := r.RecordBatch()
	rec.Retain()
	return rec, nil
}
