package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// Role is what a caller may do. Roles are ordered: each includes the ones below it.
type Role int

const (
	// RoleNone is the zero role: nothing is allowed.
	RoleNone Role = iota
	// RoleReader may query tables, rulesets and metadata.
	RoleReader
	// RoleWriter may also ingest events.
	RoleWriter
	// RoleAdmin may do everything, including loading rulesets.
	RoleAdmin
)

func (r Role) String() string {
	switch r {
	case RoleReader:
		return "reader"
	case RoleWriter:
		return "writer"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// ParseRole parses admin, writer or reader.
func ParseRole(s string) (Role, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "admin":
		return RoleAdmin, nil
	case "writer":
		return RoleWriter, nil
	case "reader":
		return RoleReader, nil
	}
	return RoleNone, fmt.Errorf("unknown role %q (roles are admin, writer, reader)", s)
}

// tokenIssuer is the iss claim of the tokens a node mints; external tokens have their own.
const tokenIssuer = "sigmaflight"

var (
	// ErrNoCredentials means a call carried no authorization header.
	ErrNoCredentials = errors.New("authentication required: send 'authorization: Bearer <token>' (from the Flight handshake with user and password, or from `sigmaflight token`)")
	// ErrBadPassword means the username is unknown or the password does not match.
	ErrBadPassword = errors.New("invalid username or password")
	// ErrBadToken means a bearer token did not verify; the wrapping error says why.
	ErrBadToken = errors.New("invalid token")
)

// identity is an authenticated caller.
type identity struct {
	Subject string
	Role    Role
	// token is the bearer token the caller authenticated with ("" after a password login);
	// the handshake returns it instead of minting a new one.
	token string
}

type identityKey struct{}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identityFrom returns the caller of ctx; calls that passed the auth middleware always
// have one (the anonymous admin when authentication is off).
func identityFrom(ctx context.Context) identity {
	id, _ := ctx.Value(identityKey{}).(identity)
	return id
}

// userEntry is one user of the users file.
type userEntry struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	Role         string `yaml:"role"`
}

type user struct {
	hash []byte
	role Role
}

// loadUsers reads a users file: `users:` followed by a list of {name, password_hash, role}.
// Hashes are bcrypt ($2a$/$2b$/$2y$), made with `sigmaflight token hash-password`.
func loadUsers(path string) (map[string]user, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	var doc struct {
		Users []userEntry `yaml:"users"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	users := make(map[string]user, len(doc.Users))
	for i, u := range doc.Users {
		if u.Name == "" {
			return nil, fmt.Errorf("users file %s: user %d has no name", path, i+1)
		}
		if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return nil, fmt.Errorf("users file %s: user %q: password_hash is not a bcrypt hash (make one with `sigmaflight token hash-password`): %v", path, u.Name, err)
		}
		role, err := ParseRole(u.Role)
		if err != nil {
			return nil, fmt.Errorf("users file %s: user %q: %w", path, u.Name, err)
		}
		if _, dup := users[u.Name]; dup {
			return nil, fmt.Errorf("users file %s: user %q is listed twice", path, u.Name)
		}
		users[u.Name] = user{hash: []byte(u.PasswordHash), role: role}
	}
	return users, nil
}

// authenticator checks credentials and mints tokens.
type authenticator struct {
	enabled bool
	users   map[string]user
	// dummyHash is compared against for unknown user names: a bcrypt hash of the highest
	// cost in the users file, so an unknown name takes as long as the slowest real check.
	dummyHash []byte
	keys      *keyRing
	ttl       time.Duration
	jwks      *jwks
	issuer    string
	audience  string
	now       func() time.Time

	// passwordCache remembers recent successful Basic checks (by a hash of user and
	// password) so clients sending Basic on every call do not pay bcrypt every time.
	mu            sync.Mutex
	passwordCache map[[32]byte]cachedLogin
}

type cachedLogin struct {
	id      identity
	expires time.Time
}

// passwordCacheTTL bounds how long a verified user:password is trusted without bcrypt; a
// password changed in the users file needs a restart anyway.
const passwordCacheTTL = time.Minute

func newAuthenticator(cfg Config, keys *keyRing) (*authenticator, error) {
	a := &authenticator{enabled: cfg.AuthEnabled(), keys: keys, ttl: cfg.TokenTTL, issuer: cfg.JWTIssuer,
		audience: cfg.JWTAudience, now: time.Now, passwordCache: map[[32]byte]cachedLogin{}}
	if cfg.UsersFile != "" {
		users, err := loadUsers(cfg.UsersFile)
		if err != nil {
			return nil, err
		}
		a.users = users
		if a.dummyHash, err = dummyHashFor(users); err != nil {
			return nil, err
		}
	}
	if cfg.JWKSFile != "" {
		set, err := loadJWKS(cfg.JWKSFile)
		if err != nil {
			return nil, err
		}
		a.jwks = set
	}
	return a, nil
}

// mint returns a token for subject with role, signed by the node's current key.
func (a *authenticator) mint(subject string, role Role, ttl time.Duration) (string, error) {
	return mintToken(a.keys, subject, role, ttl, a.now())
}

func mintToken(keys *keyRing, subject string, role Role, ttl time.Duration, now time.Time) (string, error) {
	kid, key := keys.signing()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":  tokenIssuer,
		"sub":  subject,
		"role": role.String(),
		"iat":  now.Unix(),
		"exp":  now.Add(ttl).Unix(),
	})
	tok.Header["kid"] = kid
	return tok.SignedString(key)
}

// password checks user and password against the users file. A password that is itself a
// valid token is accepted too, for tools that only know user and password.
func (a *authenticator) password(username, password string) (identity, error) {
	if looksLikeJWT(password) {
		if id, err := a.verify(password); err == nil {
			id.token = password
			return id, nil
		}
	}
	sum := sha256.Sum256([]byte(username + "\x00" + password))
	a.mu.Lock()
	c, ok := a.passwordCache[sum]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.id, nil
	}
	u, ok := a.users[username]
	if !ok {
		// Spend the same time as a real check so unknown names cannot be told apart.
		_ = bcrypt.CompareHashAndPassword(a.dummyHash, []byte(password))
		return identity{}, ErrBadPassword
	}
	if bcrypt.CompareHashAndPassword(u.hash, []byte(password)) != nil {
		return identity{}, ErrBadPassword
	}
	id := identity{Subject: username, Role: u.role}
	a.mu.Lock()
	if len(a.passwordCache) > 10000 {
		clear(a.passwordCache)
	}
	a.passwordCache[sum] = cachedLogin{id: id, expires: a.now().Add(passwordCacheTTL)}
	a.mu.Unlock()
	return id, nil
}

// dummyHashFor returns a bcrypt hash, of the highest cost among users' hashes, of a
// password no one has: comparing against it costs an unknown user name as much time as a
// wrong password of the slowest real user, so names cannot be told apart by timing.
func dummyHashFor(users map[string]user) ([]byte, error) {
	cost := bcrypt.MinCost
	for _, u := range users {
		if c, err := bcrypt.Cost(u.hash); err == nil && c > cost {
			cost = c
		}
	}
	h, err := bcrypt.GenerateFromPassword([]byte("sigmaflight-no-such-user"), cost)
	if err != nil {
		return nil, fmt.Errorf("users file: dummy hash: %w", err)
	}
	return h, nil
}

func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 && len(s) > 20 }

// verify checks a bearer token: the node's own HS256 tokens by key id, or external tokens
// against the JWKS (signature, issuer, audience, expiry). `alg: none` and any algorithm
// not listed here are refused before any key is looked up.
func (a *authenticator) verify(token string) (identity, error) {
	alg, kid, err := tokenHeader(token)
	if err != nil {
		return identity{}, err
	}
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithTimeFunc(a.now), jwt.WithLeeway(30 * time.Second)}
	var keyFunc jwt.Keyfunc
	switch {
	case alg == "HS256":
		opts = append(opts, jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(tokenIssuer))
		keyFunc = func(*jwt.Token) (any, error) {
			k, ok := a.keys.key(kid)
			if !ok {
				return nil, fmt.Errorf("signed with key %q, which this node does not have (another cluster, or a removed key)", kid)
			}
			return k, nil
		}
	case a.jwks != nil && isAsymmetric(alg):
		// Config.Validate guarantees both are set with --jwks; an empty one here would be
		// a bug, and refusing is the safe answer.
		if a.issuer == "" || a.audience == "" {
			return identity{}, fmt.Errorf("%w: BUG: --jwks without --jwt-issuer and --jwt-audience", ErrBadToken)
		}
		opts = append(opts, jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(a.issuer), jwt.WithAudience(a.audience))
		keyFunc = func(*jwt.Token) (any, error) { return a.jwks.key(kid, alg) }
	case strings.EqualFold(alg, "none"):
		return identity{}, fmt.Errorf("%w: algorithm \"none\" (unsigned token) is never accepted", ErrBadToken)
	default:
		return identity{}, fmt.Errorf("%w: algorithm %q is not accepted (HS256 tokens of this node, or RS/ES/EdDSA with --jwks)", ErrBadToken, alg)
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, keyFunc, opts...); err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired):
			exp, _ := claims.GetExpirationTime()
			at := ""
			if exp != nil {
				at = " at " + exp.UTC().Format(time.RFC3339)
			}
			return identity{}, fmt.Errorf("%w: token expired%s: handshake again or mint a new one", ErrBadToken, at)
		case errors.Is(err, jwt.ErrTokenSignatureInvalid):
			return identity{}, fmt.Errorf("%w: signature does not verify (signed with another key)", ErrBadToken)
		}
		return identity{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	sub, _ := claims.GetSubject()
	if sub == "" {
		return identity{}, fmt.Errorf("%w: no subject (sub) claim", ErrBadToken)
	}
	role, err := roleClaim(claims)
	if err != nil {
		return identity{}, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return identity{Subject: sub, Role: role}, nil
}

// roleClaim reads "role" (a string) or "roles" (a list; the highest wins). External tokens
// without either get reader.
func roleClaim(c jwt.MapClaims) (Role, error) {
	if r, ok := c["role"].(string); ok {
		return ParseRole(r)
	}
	best := RoleNone
	if rs, ok := c["roles"].([]any); ok {
		for _, v := range rs {
			if s, ok := v.(string); ok {
				if r, err := ParseRole(s); err == nil && r > best {
					best = r
				}
			}
		}
	}
	if best == RoleNone {
		return RoleReader, nil
	}
	return best, nil
}

// tokenHeader decodes the JOSE header of a compact JWT without verifying anything.
func tokenHeader(token string) (alg, kid string, err error) {
	head, _, ok := strings.Cut(token, ".")
	if !ok || strings.Count(token, ".") != 2 {
		return "", "", fmt.Errorf("%w: not a JWT (want three base64url parts separated by dots)", ErrBadToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return "", "", fmt.Errorf("%w: header is not base64url", ErrBadToken)
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", "", fmt.Errorf("%w: header is not JSON", ErrBadToken)
	}
	return h.Alg, h.Kid, nil
}

func isAsymmetric(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

// authorize authenticates the value of an authorization header.
func (a *authenticator) authorize(header string) (identity, error) {
	if !a.enabled {
		return identity{Subject: "anonymous", Role: RoleAdmin}, nil
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	switch strings.ToLower(scheme) {
	case "":
		return identity{}, ErrNoCredentials
	case "bearer":
		tok := strings.TrimSpace(cred)
		id, err := a.verify(tok)
		if err != nil {
			return identity{}, err
		}
		id.token = tok
		return id, nil
	case "basic":
		user, pass, err := parseBasic(cred)
		if err != nil {
			return identity{}, err
		}
		return a.password(user, pass)
	}
	return identity{}, fmt.Errorf("authorization scheme %q is not supported (use Basic or Bearer)", scheme)
}

// parseBasic decodes "base64(user:password)", padded or not (Java pads, Go does not).
func parseBasic(cred string) (string, string, error) {
	cred = strings.TrimSpace(cred)
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(cred, "="))
	}
	if err != nil {
		return "", "", errors.New("basic credentials are not base64 of user:password")
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("basic credentials have no ':' between user and password")
	}
	return user, pass, nil
}
