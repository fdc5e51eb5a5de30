package clientcompat

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// nodeKey reads the node's current signing key from its key file (the fixture the test
// forges against; the format is documented in docs/security.md).
func nodeKey(t *testing.T, n *node) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(n.dataDir, "server-keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var kf struct {
		Current string            `json:"current"`
		Keys    map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		t.Fatal(err)
	}
	k, err := base64.StdEncoding.DecodeString(kf.Keys[kf.Current])
	if err != nil {
		t.Fatal(err)
	}
	return kf.Current, k
}

// signHS256 makes a token with the test's own JWT code.
func signHS256(t *testing.T, kid string, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// handshake performs a raw Flight handshake with the given authorization header and
// returns the token from the response headers.
func handshake(ctx context.Context, c *flightsql.Client, authorization string) (string, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
	stream, err := c.Client.Handshake(ctx)
	if err != nil {
		return "", err
	}
	if err := stream.CloseSend(); err != nil {
		return "", err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if err != io.EOF {
				return "", err
			}
			break
		}
	}
	hdr, err := stream.Header()
	if err != nil {
		return "", err
	}
	v := hdr.Get("authorization")
	if len(v) == 0 {
		return "", nil
	}
	return strings.TrimPrefix(v[0], "Bearer "), nil
}

// TestAuthentication covers the accepted ways in (Basic padded and unpadded, Bearer
// handshake as JDBC token= sends it, a token as password, a minted token) and every
// refusal with its gRPC status and message.
func TestAuthentication(t *testing.T) {
	n := startNode(t, true)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	query := func(ctx context.Context) error {
		info, err := c.Execute(ctx, "SELECT count(*) FROM events")
		if err != nil {
			return err
		}
		rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
		if err != nil {
			return err
		}
		defer rdr.Release()
		for rdr.Next() {
		}
		return rdr.Err()
	}
	ingestEvents(n.login(ctx, c, "alice", "alice-secret"), t, c, "events", 10)
	refused := func(name string, err error, code, msg string) {
		t.Helper()
		if statusCode(err) != code || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: got %v; want %s containing %q", name, err, code, msg)
		}
	}

	// Accepted.
	for _, padded := range []bool{false, true} {
		tok, err := handshake(ctx, c, basicHeader("rita", "rita-secret", padded))
		if err != nil || tok == "" {
			t.Fatalf("Basic handshake (padded %v): token %q, %v", padded, tok, err)
		}
		if err := query(bearer(ctx, tok)); err != nil {
			t.Fatalf("query with the handshake token (padded %v): %v", padded, err)
		}
	}
	minted := n.mintToken("grafana", "reader", "1h")
	tok, err := handshake(ctx, c, "Bearer "+minted)
	if err != nil || tok != minted {
		t.Fatalf("Bearer handshake (JDBC token=): %q, %v; want the same token back (a handshake must not extend it)", tok, err)
	}
	if err := query(bearer(ctx, minted)); err != nil {
		t.Fatalf("query with a minted token: %v", err)
	}
	if tok, err := handshake(ctx, c, basicHeader("anyone", minted, true)); err != nil || tok != minted {
		t.Fatalf("token as password: %q, %v; want the same token back", tok, err)
	}
	if err := query(n.login(ctx, c, "alice", "alice-secret")); err != nil {
		t.Fatalf("query after arrow-go's Basic handshake: %v", err)
	}

	// Refused.
	refused("no credentials", query(ctx), "Unauthenticated", "authentication required")
	_, err = handshake(ctx, c, basicHeader("rita", "wrong", false))
	refused("wrong password", err, "Unauthenticated", "invalid username or password")
	_, err = handshake(ctx, c, basicHeader("nobody", "x", false))
	refused("unknown user", err, "Unauthenticated", "invalid username or password")

	kid, key := nodeKey(t, n)
	now := time.Now()
	expired := signHS256(t, kid, key, jwt.MapClaims{"iss": "sigmaflight", "sub": "rita", "role": "reader",
		"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix()})
	refused("expired token", query(bearer(ctx, expired)), "Unauthenticated", "token expired")

	otherKey := make([]byte, 32)
	_, _ = rand.Read(otherKey)
	forged := signHS256(t, kid, otherKey, jwt.MapClaims{"iss": "sigmaflight", "sub": "rita", "role": "admin", "exp": now.Add(time.Hour).Unix()})
	refused("token signed with another key", query(bearer(ctx, forged)), "Unauthenticated", "signature does not verify")
	unknownKid := signHS256(t, "k9-nope", otherKey, jwt.MapClaims{"iss": "sigmaflight", "sub": "rita", "role": "admin", "exp": now.Add(time.Hour).Unix()})
	refused("token with an unknown key id", query(bearer(ctx, unknownKid)), "Unauthenticated", "k9-nope")

	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": "sigmaflight", "sub": "rita", "role": "admin",
		"exp": now.Add(time.Hour).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	refused("alg none", query(bearer(ctx, none)), "Unauthenticated", `algorithm "none"`)
	_, err = handshake(ctx, c, "Bearer "+none)
	refused("alg none in the handshake", err, "Unauthenticated", `algorithm "none"`)
	refused("garbage token", query(bearer(ctx, "not-a-token")), "Unauthenticated", "not a JWT")
	n.alive()
}

// TestRoles checks the role of every kind of call: a reader may query but not ingest or
// load rules, a writer may ingest but not load rules, an admin may do both.
func TestRoles(t *testing.T) {
	n := startNode(t, true)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	reader := n.login(ctx, c, "rita", "rita-secret")
	writer := n.login(ctx, c, "wanda", "wanda-secret")
	admin := n.login(ctx, c, "alice", "alice-secret")

	tryIngest := func(ctx context.Context) error {
		rec := eventsBatch(5)
		defer rec.Release()
		rdr, _ := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
		defer rdr.Release()
		_, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: "events", TableDefinitionOptions: createOrAppend})
		return err
	}
	tryIngestAs := func(ctx context.Context, typeURL, table string) error {
		cmd, _ := proto.Marshal(&pb.CommandStatementIngest{Table: table, TableDefinitionOptions: &pb.CommandStatementIngest_TableDefinitionOptions{
			IfNotExist: pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_CREATE,
			IfExists:   pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_REPLACE}})
		desc, _ := proto.Marshal(&anypb.Any{TypeUrl: typeURL, Value: cmd})
		stream, err := c.Client.DoPut(ctx)
		if err != nil {
			return err
		}
		w := flight.NewRecordWriter(stream, ipcSchema(eventsSchema))
		w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: desc})
		rec := eventsBatch(5)
		defer rec.Release()
		_ = w.Write(rec)
		_ = w.Close()
		_ = stream.CloseSend()
		for {
			if _, err := stream.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	tryPlainPut := func(ctx context.Context) error {
		stream, err := c.Client.DoPut(ctx)
		if err != nil {
			return err
		}
		w := flight.NewRecordWriter(stream, ipcSchema(eventsSchema))
		w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"events"}})
		rec := eventsBatch(5)
		defer rec.Release()
		_ = w.Write(rec)
		_ = w.Close()
		_ = stream.CloseSend()
		for {
			if _, err := stream.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	rule := "title: t\nlogsource: {product: test}\ndetection:\n  sel:\n    host: h1\n  condition: sel\n"
	body, _ := json.Marshal(map[string]any{"name": "r", "rules": []map[string]string{{"path": "r.yml", "yaml": rule}}})
	tryLoad := func(ctx context.Context) error {
		stream, err := c.Client.DoAction(ctx, &flight.Action{Type: "sigmaflight.LoadRuleset", Body: body})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	want := func(name string, err error, code string) {
		t.Helper()
		if statusCode(err) != code {
			t.Fatalf("%s: got %v; want %s", name, err, code)
		}
		if code == "PermissionDenied" && !strings.Contains(err.Error(), "needs role") {
			t.Fatalf("%s: message %q does not say which role is needed", name, err)
		}
	}
	want("reader bulk ingest", tryIngest(reader), "PermissionDenied")
	// The router resolves a command by the type name after the URL's last '/': a reader
	// must not get past the role check by spelling the URL differently.
	for _, url := range []string{"evil.example/arrow.flight.protocol.sql.CommandStatementIngest", "arrow.flight.protocol.sql.CommandStatementIngest"} {
		want("reader bulk ingest as "+url, tryIngestAs(reader, url, "pwned"), "PermissionDenied")
	}
	if _, err := c.Execute(admin, "SELECT count(*) FROM pwned"); statusCode(err) != "NotFound" {
		t.Fatalf("table pwned after the refused ingests: %v; want NotFound", err)
	}
	want("reader plain DoPut", tryPlainPut(reader), "PermissionDenied")
	want("reader LoadRuleset", tryLoad(reader), "PermissionDenied")
	want("writer LoadRuleset", tryLoad(writer), "PermissionDenied")
	want("writer bulk ingest", tryIngest(writer), "OK")
	want("writer plain DoPut", tryPlainPut(writer), "OK")
	want("admin LoadRuleset", tryLoad(admin), "OK")
	want("admin bulk ingest", tryIngest(admin), "OK")
	// Everyone may read; the rows the writer and admin stored are there.
	info, err := c.Execute(reader, "SELECT count(*) FROM events")
	if err != nil {
		t.Fatalf("reader query: %v", err)
	}
	_, b := readAll(reader, t, c, info)
	if got := b[0].Column(0).(*array.Int64).Value(0); got != 15 {
		t.Fatalf("rows after writer and admin ingests: %d; want 15", got)
	}
	var list []struct{ Name string }
	doAction(reader, t, c, "sigmaflight.ListRulesets", nil, &list)
	if len(list) != 2 {
		t.Fatalf("reader ListRulesets: %v; want examples and r", list)
	}
}

// TestForgedHandles checks that statement handles and tickets cannot be altered, forged or
// moved between users.
func TestForgedHandles(t *testing.T) {
	n := startNode(t, true)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := n.login(ctx, c, "alice", "alice-secret")
	rita := n.login(ctx, c, "rita", "rita-secret")
	ingestEvents(alice, t, c, "events", 10)

	info, err := c.Execute(alice, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	tkt, err := flightsql.GetStatementQueryTicket(info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	handle := tkt.GetStatementHandle()
	doGet := func(ctx context.Context, handle []byte) error {
		raw, err := flightsql.CreateStatementQueryTicket(handle)
		if err != nil {
			t.Fatal(err)
		}
		rdr, err := c.DoGet(ctx, &flight.Ticket{Ticket: raw})
		if err != nil {
			return err
		}
		defer rdr.Release()
		for rdr.Next() {
		}
		return rdr.Err()
	}
	if err := doGet(alice, handle); err != nil {
		t.Fatalf("genuine ticket: %v", err)
	}
	altered := []byte(strings.Replace(string(handle), "SELECT host FROM events", "SELECT ok   FROM events", 1))
	if string(altered) == string(handle) {
		t.Fatalf("the handle does not carry the SQL in clear text: %q", handle)
	}
	if err := doGet(alice, altered); statusCode(err) != "InvalidArgument" || !strings.Contains(err.Error(), "invalid signature") {
		t.Fatalf("altered ticket: %v; want InvalidArgument about the signature", err)
	}
	if err := doGet(alice, []byte("SELECT * FROM events")); statusCode(err) != "InvalidArgument" || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("bare SQL as a ticket: %v; want InvalidArgument, malformed", err)
	}
	if err := doGet(rita, handle); statusCode(err) != "PermissionDenied" {
		t.Fatalf("alice's ticket redeemed by rita: %v; want PermissionDenied", err)
	}
	// A prepared statement handle with altered bytes is refused at GetFlightInfo.
	ps, err := c.Prepare(alice, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	h := append([]byte(nil), ps.Handle()...)
	h[len(h)/2] ^= 1
	forged, err := c.LoadPreparedStatementFromResult(&flightsql.CreatePreparedStatementResult{PreparedStatementHandle: h})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.Execute(alice); statusCode(err) != "InvalidArgument" {
		t.Fatalf("forged prepared statement handle: %v; want InvalidArgument", err)
	}
}

// TestMessageLimits sends an oversized message and malformed IPC: each is refused with a
// clear status and the node keeps serving.
func TestMessageLimits(t *testing.T) {
	n := startNode(t, false, "--max-recv-msg-bytes", "4194304")
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Oversized: one ~8 MiB batch against a 4 MiB limit.
	big := eventsBatch(200_000)
	rdr, _ := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{big})
	_, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: "big", TableDefinitionOptions: createOrAppend})
	rdr.Release()
	big.Release()
	if statusCode(err) != "ResourceExhausted" || !strings.Contains(err.Error(), "larger than max") {
		t.Fatalf("8 MiB message against a 4 MiB limit: %v; want ResourceExhausted, larger than max", err)
	}

	// Malformed: garbage where the IPC schema message belongs.
	put := func(msgs ...*flight.FlightData) error {
		stream, err := c.Client.DoPut(ctx)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := stream.Send(m); err != nil {
				break
			}
		}
		_ = stream.CloseSend()
		for {
			if _, err := stream.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	desc := &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"junk"}}
	err = put(&flight.FlightData{FlightDescriptor: desc, DataHeader: []byte("definitely not a flatbuffer message")})
	if statusCode(err) != "InvalidArgument" {
		t.Fatalf("garbage schema message: %v; want InvalidArgument", err)
	}

	// Mutations of a valid stream: every byte position of the schema and batch headers
	// flipped in turn. Each must be refused or stored, never crash or hang the node.
	valid := validMessages(t)
	codes := map[string]int{}
	for msg := 0; msg < len(valid); msg++ {
		for pos := 0; pos < len(valid[msg].DataHeader); pos += 3 {
			msgs := cloneMessages(valid)
			msgs[0].FlightDescriptor = desc
			msgs[msg].DataHeader[pos] ^= 0xff
			err := put(msgs...)
			codes[statusCode(err)]++
			if c := statusCode(err); c != "OK" && c != "InvalidArgument" {
				t.Fatalf("header %d byte %d flipped: %v; want OK or InvalidArgument", msg, pos, err)
			}
		}
	}
	if codes["InvalidArgument"] == 0 {
		t.Fatalf("no mutation was refused (%v): the test does not reach the decoder", codes)
	}
	t.Logf("mutated streams: %v", codes)
	n.alive()
	if _, err := c.GetCatalogs(ctx); err != nil {
		t.Fatalf("node does not answer after malformed input: %v", err)
	}
}

// validMessages returns the FlightData of a schema message and one small batch.
func validMessages(t *testing.T) []*flight.FlightData {
	t.Helper()
	cap := &captureStream{}
	w := flight.NewRecordWriter(cap, ipcSchema(eventsSchema))
	rec := eventsBatch(3)
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return cap.msgs
}

type captureStream struct{ msgs []*flight.FlightData }

func (c *captureStream) Send(d *flight.FlightData) error {
	c.msgs = append(c.msgs, &flight.FlightData{DataHeader: append([]byte(nil), d.DataHeader...), DataBody: append([]byte(nil), d.DataBody...)})
	return nil
}

func cloneMessages(in []*flight.FlightData) []*flight.FlightData {
	out := make([]*flight.FlightData, len(in))
	for i, d := range in {
		out[i] = &flight.FlightData{DataHeader: append([]byte(nil), d.DataHeader...), DataBody: append([]byte(nil), d.DataBody...)}
	}
	return out
}

// TestExternalJWKS starts a node that trusts an identity provider's JWKS (RSA and EC keys
// made by the test) with a required issuer and audience.
func TestExternalJWKS(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	jwks := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "idp-rsa", "alg": "RS256", "use": "sig", "n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())},
		{"kty": "EC", "kid": "idp-ec", "crv": "P-256", "x": b64(ecKey.X.FillBytes(make([]byte, 32))), "y": b64(ecKey.Y.FillBytes(make([]byte, 32)))},
	}}
	data, _ := json.Marshal(jwks)
	file := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Without an audience (or an issuer) any token the provider signs for any service
	// would be accepted: the node refuses to start.
	for _, args := range [][]string{{"--jwt-issuer", "https://idp.example"}, {"--jwt-audience", "sigmaflight"}, nil} {
		out, err := exec.Command(binary, append([]string{"serve", "--data-dir", filepath.Join(t.TempDir(), "d"), "--listen", "127.0.0.1:0",
			"--http-listen", "", "--jwks", file}, args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--jwks needs --jwt-issuer and --jwt-audience") {
			t.Fatalf("serve --jwks %v: %v\n%s\nwant a refusal naming --jwt-issuer and --jwt-audience", args, err, out)
		}
	}
	n := startNode(t, false, "--jwks", file, "--jwt-issuer", "https://idp.example", "--jwt-audience", "sigmaflight")
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sign := func(method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(method, claims)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	claims := func(iss, aud string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"iss": iss, "aud": aud, "sub": "sso-user", "roles": []string{"reader"}, "exp": exp.Unix()}
	}
	ingestEvents(bearer(ctx, n.mintToken("loader", "writer", "1h")), t, c, "events", 10)
	query := func(tok string) error {
		_, err := c.Execute(bearer(ctx, tok), "SELECT count(*) FROM events")
		return err
	}
	if err := query(sign(jwt.SigningMethodRS256, "idp-rsa", rsaKey, claims("https://idp.example", "sigmaflight", now.Add(time.Hour)))); err != nil {
		t.Fatalf("valid RS256 token: %v", err)
	}
	if err := query(sign(jwt.SigningMethodES256, "idp-ec", ecKey, claims("https://idp.example", "sigmaflight", now.Add(time.Hour)))); err != nil {
		t.Fatalf("valid ES256 token: %v", err)
	}
	f := func(name, tok, msg string) {
		t.Helper()
		err := query(tok)
		if statusCode(err) != "Unauthenticated" || !strings.Contains(err.Error(), msg) {
			t.Fatalf("%s: %v; want Unauthenticated containing %q", name, err, msg)
		}
	}
	f("wrong issuer", sign(jwt.SigningMethodRS256, "idp-rsa", rsaKey, claims("https://evil.example", "sigmaflight", now.Add(time.Hour))), "issuer")
	f("wrong audience", sign(jwt.SigningMethodRS256, "idp-rsa", rsaKey, claims("https://idp.example", "other", now.Add(time.Hour))), "audience")
	f("expired", sign(jwt.SigningMethodRS256, "idp-rsa", rsaKey, claims("https://idp.example", "sigmaflight", now.Add(-time.Hour))), "expired")
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	f("other key", sign(jwt.SigningMethodRS256, "idp-rsa", otherRSA, claims("https://idp.example", "sigmaflight", now.Add(time.Hour))), "signature")
	// A reader from the IdP may not load rules.
	tok := sign(jwt.SigningMethodRS256, "idp-rsa", rsaKey, claims("https://idp.example", "sigmaflight", now.Add(time.Hour)))
	stream, err := c.Client.DoAction(bearer(ctx, tok), &flight.Action{Type: "sigmaflight.LoadRuleset", Body: []byte(`{"name":"x","rules":[]}`)})
	if err == nil {
		_, err = stream.Recv()
	}
	if statusCode(err) != "PermissionDenied" {
		t.Fatalf("IdP reader LoadRuleset: %v; want PermissionDenied", err)
	}
}

// TestTLSAndMutualTLS serves Flight SQL over TLS with required client certificates: a
// client with a certificate of the CA is served, one without is refused at the handshake.
func TestTLSAndMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := makeCert(t, nil, nil, "test CA", true)
	srv, srvKey := makeCert(t, ca, caKey, "127.0.0.1", false)
	cli, cliKey := makeCert(t, ca, caKey, "client", false)
	write := func(name string, blocks ...*pem.Block) string {
		var buf []byte
		for _, b := range blocks {
			buf = append(buf, pem.EncodeToMemory(b)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyBlock := func(k *ecdsa.PrivateKey) *pem.Block {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	caFile := write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	n := startNode(t, true, "--tls-cert", write("srv.pem", &pem.Block{Type: "CERTIFICATE", Bytes: srv.Raw}),
		"--tls-key", write("srv.key", keyBlock(srvKey)), "--tls-client-ca", caFile)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	dial := func(withCert bool) *flightsql.Client {
		tc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		if withCert {
			tc.Certificates = []tls.Certificate{{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey}}
		}
		c, err := flightsql.NewClient(n.addr, nil, nil, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	good := dial(true)
	ingestEvents(n.login(ctx, good, "alice", "alice-secret"), t, good, "events", 10)
	authed := n.login(ctx, good, "rita", "rita-secret")
	if _, err := good.Execute(authed, "SELECT count(*) FROM events"); err != nil {
		t.Fatalf("query over mutual TLS: %v", err)
	}
	bad := dial(false)
	if _, err := bad.Client.AuthenticateBasicToken(ctx, "rita", "rita-secret"); statusCode(err) != "Unavailable" {
		t.Fatalf("client without a certificate: %v; want Unavailable (TLS handshake refused)", err)
	}
	plain := n.client() // no TLS at all
	if _, err := plain.Client.AuthenticateBasicToken(ctx, "rita", "rita-secret"); err == nil {
		t.Fatal("plaintext client was served by a TLS node")
	}
}

// makeCert makes an ECDSA certificate signed by parent (self-signed when parent is nil).
func makeCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        isCA, BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(cn); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// createOrAppend is the ingest mode collectors use.
var createOrAppend = &flightsql.TableDefinitionOptions{
	IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
	IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
}
