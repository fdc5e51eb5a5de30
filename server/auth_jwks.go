package server

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"strings"
)

// jwks is the set of public keys of an external identity provider, read from a JWKS file
// (RFC 7517) at start. Keys are looked up by kid and must match the token's algorithm family.
type jwks struct {
	path string
	keys map[string]jwk
}

type jwk struct {
	kty string
	alg string
	pub any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

func loadJWKS(path string) (*jwks, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read JWKS: %w", err)
	}
	var doc struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
			N   string `json:"n"`
			E   string `json:"e"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Y   string `json:"y"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", path, err)
	}
	set := &jwks{path: path, keys: map[string]jwk{}}
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		var pub any
		switch k.Kty {
		case "RSA":
			n, err1 := b64uint(k.N)
			e, err2 := b64uint(k.E)
			if err1 != nil || err2 != nil || !e.IsInt64() {
				return nil, fmt.Errorf("JWKS %s: key %d (%q): bad RSA n or e", path, i, k.Kid)
			}
			pub = &rsa.PublicKey{N: n, E: int(e.Int64())}
		case "EC":
			var curve elliptic.Curve
			switch k.Crv {
			case "P-256":
				curve = elliptic.P256()
			case "P-384":
				curve = elliptic.P384()
			case "P-521":
				curve = elliptic.P521()
			default:
				return nil, fmt.Errorf("JWKS %s: key %d (%q): unsupported curve %q", path, i, k.Kid, k.Crv)
			}
			x, err1 := b64uint(k.X)
			y, err2 := b64uint(k.Y)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("JWKS %s: key %d (%q): bad EC x or y", path, i, k.Kid)
			}
			pub = &ecdsa.PublicKey{Curve: curve, X: x, Y: y}
		case "OKP":
			x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
			if err != nil || k.Crv != "Ed25519" || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("JWKS %s: key %d (%q): only Ed25519 OKP keys are supported", path, i, k.Kid)
			}
			pub = ed25519.PublicKey(x)
		default:
			return nil, fmt.Errorf("JWKS %s: key %d (%q): unsupported kty %q", path, i, k.Kid, k.Kty)
		}
		set.keys[k.Kid] = jwk{kty: k.Kty, alg: k.Alg, pub: pub}
	}
	if len(set.keys) == 0 {
		return nil, fmt.Errorf("JWKS %s: no signing key", path)
	}
	return set, nil
}

func b64uint(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("bad base64url integer")
	}
	return new(big.Int).SetBytes(b), nil
}

// key returns the public key kid for a token of algorithm alg.
func (s *jwks) key(kid, alg string) (any, error) {
	k, ok := s.keys[kid]
	if !ok && kid == "" && len(s.keys) == 1 {
		for _, only := range s.keys {
			k, ok = only, true
		}
	}
	if !ok {
		return nil, fmt.Errorf("no key %q in the JWKS %s", kid, s.path)
	}
	if k.alg != "" && k.alg != alg {
		return nil, fmt.Errorf("key %q is for %s, the token says %s", kid, k.alg, alg)
	}
	family := map[string]string{"R": "RSA", "P": "RSA", "E": "EC"}[alg[:1]]
	if alg == "EdDSA" {
		family = "OKP"
	}
	if family != k.kty {
		return nil, fmt.Errorf("key %q is %s, the token's algorithm %s needs %s", kid, k.kty, alg, family)
	}
	return k.pub, nil
}
