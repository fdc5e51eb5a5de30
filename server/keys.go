package server

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// keysFileName is the file in the data directory holding the node's signing keys. It is
// kept beside (not inside) the tables directory, which storage owns.
const keysFileName = "server-keys.json"

// signingKeyBytes is the size of one HMAC-SHA256 key: the hash's block-independent
// security level is 256 bits, so longer keys add nothing.
const signingKeyBytes = 32

// keyFile is the on-disk form of the node's keys: every key by id, and which one signs.
// Older keys keep verifying until an operator deletes them, which is how keys rotate.
type keyFile struct {
	Current string            `json:"current"`
	Keys    map[string]string `json:"keys"` // id -> base64 (std) key bytes
}

// keyRing holds the node's HMAC keys. It signs statement handles, tickets and the JWTs the
// node mints; all nodes of a cluster share the file so tokens are valid on every node.
type keyRing struct {
	path string

	mu       sync.RWMutex
	current  string
	keys     map[string][]byte
	reloaded time.Time
}

// openKeyRing loads dir/server-keys.json, creating it with one fresh key when missing.
func openKeyRing(dir string) (*keyRing, error) {
	kr := &keyRing{path: filepath.Join(dir, keysFileName)}
	if _, err := os.Stat(kr.path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		if _, err := RotateKey(dir); err != nil {
			return nil, err
		}
	}
	if err := kr.load(); err != nil {
		return nil, err
	}
	return kr, nil
}

func (kr *keyRing) load() error {
	kf, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	keys := make(map[string][]byte, len(kf.Keys))
	for id, enc := range kf.Keys {
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(k) < 16 {
			return fmt.Errorf("FATAL: %s: key %q is not base64 of at least 16 bytes", kr.path, id)
		}
		keys[id] = k
	}
	if _, ok := keys[kf.Current]; !ok {
		return fmt.Errorf("FATAL: %s: current key %q is not among the keys", kr.path, kf.Current)
	}
	kr.mu.Lock()
	kr.current, kr.keys, kr.reloaded = kf.Current, keys, time.Now()
	kr.mu.Unlock()
	return nil
}

// signing returns the id and bytes of the key new signatures use.
func (kr *keyRing) signing() (string, []byte) {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current, kr.keys[kr.current]
}

// key returns the key with id kid. An unknown id re-reads the file (at most once a second)
// so a key rotated by `sigmaflight token --rotate` is picked up without a restart.
func (kr *keyRing) key(kid string) ([]byte, bool) {
	kr.mu.RLock()
	k, ok := kr.keys[kid]
	stale := time.Since(kr.reloaded) > time.Second
	kr.mu.RUnlock()
	if ok || !stale {
		return k, ok
	}
	if err := kr.load(); err != nil {
		return nil, false
	}
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	k, ok = kr.keys[kid]
	return k, ok
}

func readKeyFile(path string) (keyFile, error) {
	var kf keyFile
	data, err := os.ReadFile(path)
	if err != nil {
		return kf, fmt.Errorf("read signing keys: %w", err)
	}
	if err := json.Unmarshal(data, &kf); err != nil {
		return kf, fmt.Errorf("FATAL: %s: %w", path, err)
	}
	return kf, nil
}

// RotateKey adds a new random key to dir's key file (creating it) and makes it the signing
// key; tokens and handles signed by older keys stay valid until their key is removed from
// the file. It returns the new key id.
func RotateKey(dir string) (string, error) {
	path := filepath.Join(dir, keysFileName)
	kf := keyFile{Keys: map[string]string{}}
	if _, err := os.Stat(path); err == nil {
		if kf, err = readKeyFile(path); err != nil {
			return "", err
		}
		if kf.Keys == nil {
			kf.Keys = map[string]string{}
		}
	}
	k := make([]byte, signingKeyBytes)
	if _, err := rand.Read(k); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	ids := make([]string, 0, len(kf.Keys))
	for id := range kf.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	id := fmt.Sprintf("k%d-%s", len(ids)+1, base64.RawURLEncoding.EncodeToString(k[:4]))
	kf.Keys[id] = base64.StdEncoding.EncodeToString(k)
	kf.Current = id
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return "", err
	}
	if err := writeFileSync(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write signing keys: %w", err)
	}
	return id, nil
}

// writeFileSync replaces path atomically with data: temp file, fsync, rename, fsync dir.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
