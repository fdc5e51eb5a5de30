package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// sessionIdleTTL evicts sessions no call touched for this long: clients rarely call
// CloseSession (Java ADBC never does), so server state must expire on its own.
const sessionIdleTTL = time.Hour

// Session option names the server understands.
const (
	sessionOptionCatalog = "catalog"
	sessionOptionSchema  = "schema"
)

// maxSessions bounds the sessions kept: every distinct token or address may create one,
// so without a bound a client could grow the map without limit. Past it, the session
// touched least recently is evicted.
const maxSessions = 10_000

// sessionSweepInterval is how often, at most, idle sessions are swept (one pass over the
// map); between sweeps an idle session is simply treated as absent when looked up.
const sessionSweepInterval = time.Minute

// sessionStore keeps session options by session key: the Flight session cookie when the
// client sends one, else a hash of the authorization header (one token, one session), else
// the client's address (one connection, one session). No operation on it ever fails.
type sessionStore struct {
	mu        sync.Mutex
	sessions  map[string]*session
	lastSweep time.Time
	now       func() time.Time
}

type session struct {
	options map[string]*flight.SessionOptionValue
	touched time.Time
}

func newSessionStore() *sessionStore {
	return &sessionStore{sessions: map[string]*session{}, now: time.Now}
}

// sessionKey identifies the caller's session. The authorization header is hashed, never
// kept: with Basic it holds a password.
func sessionKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, c := range md.Get("cookie") {
		for _, part := range strings.Split(c, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k == "arrow_flight_session_id" && v != "" {
				return "cookie:" + v
			}
		}
	}
	if a := md.Get("authorization"); len(a) > 0 && a[0] != "" {
		sum := sha256.Sum256([]byte(a[0]))
		return "auth:" + hex.EncodeToString(sum[:])
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return "peer:" + p.Addr.String()
	}
	return "anonymous"
}

// get returns the session of key, creating it when create is set; an idle session
// (untouched for sessionIdleTTL) counts as absent.
func (st *sessionStore) get(key string, create bool) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.now()
	if now.Sub(st.lastSweep) >= sessionSweepInterval {
		st.sweep(now)
	}
	s, ok := st.sessions[key]
	if ok && now.Sub(s.touched) > sessionIdleTTL {
		delete(st.sessions, key)
		s, ok = nil, false
	}
	if !ok && create {
		if len(st.sessions) >= maxSessions {
			st.sweep(now)
			if len(st.sessions) >= maxSessions {
				st.evictOldest()
			}
		}
		s = &session{options: map[string]*flight.SessionOptionValue{}}
		st.sessions[key] = s
	}
	if s != nil {
		s.touched = now
	}
	return s
}

// sweep deletes idle sessions. The caller holds st.mu.
func (st *sessionStore) sweep(now time.Time) {
	st.lastSweep = now
	for k, s := range st.sessions {
		if now.Sub(s.touched) > sessionIdleTTL {
			delete(st.sessions, k)
		}
	}
}

// evictOldest deletes the session touched least recently. The caller holds st.mu.
func (st *sessionStore) evictOldest() {
	var (
		oldest string
		at     time.Time
	)
	for k, s := range st.sessions {
		if oldest == "" || s.touched.Before(at) {
			oldest, at = k, s.touched
		}
	}
	delete(st.sessions, oldest)
}

// SetSessionOptions stores catalog and schema. The catalog must be sigmaflight (the only
// one); the schema, public or sys, becomes the default schema of unqualified table names
// in the session's later statements (sessionSchema). Unknown names and values that name no
// catalog or schema are reported per option in the result (INVALID_NAME, INVALID_VALUE),
// never as a failed call: JDBC turns a failed call into an SQLException at connect. An
// option without a value unsets it. Values are stored in lower case, as listed by
// GetDbSchemas.
func (s *flightSQLService) SetSessionOptions(ctx context.Context, req *flight.SetSessionOptionsRequest) (*flight.SetSessionOptionsResult, error) {
	res := &flight.SetSessionOptionsResult{Errors: map[string]*pb.SetSessionOptionsResult_Error{}}
	fail := func(name string, v pb.SetSessionOptionsResult_ErrorValue) {
		res.Errors[name] = &pb.SetSessionOptionsResult_Error{Value: v}
	}
	sess := s.sessions.get(sessionKey(ctx), true)
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	for name, v := range req.GetSessionOptions() {
		if name != sessionOptionCatalog && name != sessionOptionSchema {
			fail(name, pb.SetSessionOptionsResult_INVALID_NAME)
			continue
		}
		if v.GetOptionValue() == nil {
			delete(sess.options, name) // an empty value unsets the option
			continue
		}
		str, isString := v.GetOptionValue().(*pb.SessionOptionValue_StringValue)
		valid := false
		switch {
		case !isString:
		case name == sessionOptionCatalog:
			valid = strings.EqualFold(str.StringValue, catalogName)
		case name == sessionOptionSchema:
			valid = isKnownSchema(str.StringValue)
		}
		if !valid {
			s.log.Debug("session option refused", "option", name, "value", v.String(),
				"accepted", map[string]string{sessionOptionCatalog: catalogName, sessionOptionSchema: publicSchema + " or " + sysSchema}[name])
			fail(name, pb.SetSessionOptionsResult_INVALID_VALUE)
			continue
		}
		sess.options[name] = &flight.SessionOptionValue{OptionValue: &pb.SessionOptionValue_StringValue{StringValue: strings.ToLower(str.StringValue)}}
	}
	return res, nil
}

// sessionSchema returns the caller's session `schema` option ("" when unset: public), the
// default schema of the unqualified table names of statements created now.
func (s *flightSQLService) sessionSchema(ctx context.Context) string {
	sess := s.sessions.get(sessionKey(ctx), false)
	if sess == nil {
		return ""
	}
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	if v, ok := sess.options[sessionOptionSchema].GetOptionValue().(*pb.SessionOptionValue_StringValue); ok {
		return v.StringValue
	}
	return ""
}

// GetSessionOptions returns the options set in this session, with the defaults for
// catalog and schema.
func (s *flightSQLService) GetSessionOptions(ctx context.Context, _ *flight.GetSessionOptionsRequest) (*flight.GetSessionOptionsResult, error) {
	opts, _ := flight.NewSessionOptionValues(map[string]any{sessionOptionCatalog: catalogName, sessionOptionSchema: publicSchema})
	if sess := s.sessions.get(sessionKey(ctx), false); sess != nil {
		s.sessions.mu.Lock()
		for k, v := range sess.options {
			opts[k] = proto.Clone(v).(*flight.SessionOptionValue)
		}
		s.sessions.mu.Unlock()
	}
	return &flight.GetSessionOptionsResult{SessionOptions: opts}, nil
}

// CloseSession forgets the session; closing an unknown or already closed session succeeds.
func (s *flightSQLService) CloseSession(ctx context.Context, _ *flight.CloseSessionRequest) (*flight.CloseSessionResult, error) {
	s.sessions.mu.Lock()
	delete(s.sessions.sessions, sessionKey(ctx))
	s.sessions.mu.Unlock()
	return &flight.CloseSessionResult{Status: flight.CloseSessionResultClosed}, nil
}

// CancelFlightInfo stops the streams of every endpoint of the FlightInfo and refuses their
// tickets from now on. Queries run only while a DoGet streams them, so a ticket not being
// redeemed is cancelled simply by refusing it later.
func (s *flightSQLService) CancelFlightInfo(ctx context.Context, req *flight.CancelFlightInfoRequest) (flight.CancelFlightInfoResult, error) {
	info := req.GetInfo()
	if info == nil || len(info.GetEndpoint()) == 0 {
		return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable}, nil
	}
	for _, ep := range info.GetEndpoint() {
		tkt, err := flightsql.GetStatementQueryTicket(ep.GetTicket())
		if err != nil {
			return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable}, nil
		}
		h, err := s.openHandle(ctx, tkt.GetStatementHandle())
		if err != nil {
			return flight.CancelFlightInfoResult{}, err
		}
		if h.Exec == "" {
			// A prepared statement handle, not a ticket of a FlightInfo: cancelling it
			// would refuse every later execution of the statement.
			return flight.CancelFlightInfoResult{Status: flight.CancelStatusNotCancellable}, nil
		}
		s.running.cancel(h.Exec, time.Unix(h.Expires, 0))
	}
	return flight.CancelFlightInfoResult{Status: flight.CancelStatusCancelled}, nil
}
