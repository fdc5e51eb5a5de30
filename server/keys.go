package server

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
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

// keyRing holds the node's HMAC keys. A key of the file signs the JWTs the node mints as
// is (so `sigmaflight token` and the documented file format stay valid); statement handles
// and tickets are signed with a key derived from it for that purpose only (HKDF-SHA256,
// info handleKeyInfo), so a signature of one kind can never be passed off as the other.
// All nodes of a cluster share the file so tokens are valid on every node.
//
// The ring re-reads the file when it changed (checked at most every keyRecheckInterval,
// on use), so a key added by `sigmaflight token rotate` is picked up and a key deleted
// from the file stops verifying without a restart.
type keyRing struct {
	path string
	now  func() time.Time

	mu         sync.RWMutex
	current    string
	keys       map[string][]byte
	handleKeys map[string][]byte
	stamp      fileStamp
	checked    time.Time
}

// fileStamp identifies a version of the key file.
type fileStamp struct {
	mod  time.Time
	size int64
}

// keyRecheckInterval is how often, at most, the key file's modification time and size are
// checked: rarely enough to cost nothing per call, often enough that a deleted key stops
// working within a second or so.
const keyRecheckInterval = time.Second

// handleKeyInfo is the HKDF info string deriving the handle signing key from a file key;
// changing it invalidates every outstanding handle.
const handleKeyInfo = "sigmaflight statement handle v1"

// openKeyRing loads dir/server-keys.json, creating it with one fresh key when missing.
func openKeyRing(dir string) (*keyRing, error) {
	kr := &keyRing{path: filepath.Join(dir, keysFileName), now: time.Now}
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
	fi, err := os.Stat(kr.path)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	kf, err := readKeyFile(kr.path)
	if err != nil {
		return err
	}
	keys := make(map[string][]byte, len(kf.Keys))
	handleKeys := make(map[string][]byte, len(kf.Keys))
	for id, enc := range kf.Keys {
		k, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(k) < 16 {
			return fmt.Errorf("FATAL: %s: key %q is not base64 of at least 16 bytes", kr.path, id)
		}
		keys[id] = k
		if handleKeys[id], err = hkdf.Key(sha256.New, k, nil, handleKeyInfo, signingKeyBytes); err != nil {
			return fmt.Errorf("derive handle key %q: %w", id, err)
		}
	}
	if _, ok := keys[kf.Current]; !ok {
		return fmt.Errorf("FATAL: %s: current key %q is not among the keys", kr.path, kf.Current)
	}
	kr.mu.Lock()
	kr.current, kr.keys, kr.handleKeys = kf.Current, keys, handleKeys
	kr.stamp, kr.checked = fileStamp{fi.ModTime(), fi.Size()}, kr.now()
	kr.mu.Unlock()
	return nil
}

// refresh re-reads the key file if it changed since it was loaded, checking at most once
// per keyRecheckInterval. A file that cannot be read or parsed keeps the keys loaded
// before (a half-written file must not lock every client out).
func (kr *keyRing) refresh() {
	kr.mu.RLock()
	due := kr.now().Sub(kr.checked) >= keyRecheckInterval
	stamp := kr.stamp
	kr.mu.RUnlock()
	if !due {
		return
	}
	kr.mu.Lock()
	kr.checked = kr.now()
	kr.mu.Unlock()
	fi, err := os.Stat(kr.path)
	if err != nil || (fi.ModTime().Equal(stamp.mod) && fi.Size() == stamp.size) {
		return
	}
	_ = kr.load()
}

// signing returns the id and bytes of the key new JWTs are signed with.
func (kr *keyRing) signing() (string, []byte) {
	kr.refresh()
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current, kr.keys[kr.current]
}

// key returns the JWT key with id kid.
func (kr *keyRing) key(kid string) ([]byte, bool) {
	kr.refresh()
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	k, ok := kr.keys[kid]
	return k, ok
}

// handleSigning returns the id of the current key and the handle key derived from it.
func (kr *keyRing) handleSigning() (string, []byte) {
	kr.refresh()
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	return kr.current, kr.handleKeys[kr.current]
}

// handleKey returns the handle key derived from the key with id kid.
func (kr *keyRing) handleKey(kid string) ([]byte, bool) {
	kr.refresh()
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	k, ok := kr.handleKeys[kid]
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
	// The id is public (every token's header carries it): its random part is drawn on its
	// own, never taken from the key.
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("generate key id: %w", err)
	}
	id := fmt.Sprintf("k%d-%s", len(ids)+1, base64.RawURLEncoding.EncodeToString(suffix))
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
