package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
)

// TestSessionKeyHidesCredentials checks that a session keyed by the authorization header
// does not keep the header (a Basic password) as the map key.
func TestSessionKeyHidesCredentials(t *testing.T) {
	header := "Basic " + b64("rita:rita-secret")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
	key := sessionKey(ctx)
	if strings.Contains(key, b64("rita:rita-secret")) || strings.Contains(key, "rita") {
		t.Fatalf("session key %q carries the credentials", key)
	}
	other := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Basic "+b64("rita:other")))
	if sessionKey(other) == key {
		t.Fatal("two credentials share one session key")
	}
}

// TestSessionStoreIsBounded creates more sessions than maxSessions: the store keeps at
// most maxSessions, evicting the least recently touched, and drops idle ones.
func TestSessionStoreIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	st := newSessionStore()
	st.now = clock.now
	for i := 0; i < maxSessions+100; i++ {
		clock.advance(time.Millisecond)
		st.get(fmt.Sprintf("auth:%d", i), true)
	}
	if got := len(st.sessions); got > maxSessions {
		t.Fatalf("%d sessions kept; want at most %d", got, maxSessions)
	}
	if st.get("auth:0", false) != nil {
		t.Fatal("the oldest session survived the bound")
	}
	if st.get(fmt.Sprintf("auth:%d", maxSessions+99), false) == nil {
		t.Fatal("the newest session was evicted")
	}
	clock.advance(sessionIdleTTL + time.Second)
	if st.get("auth:5000", false) != nil {
		t.Fatal("an idle session is still returned")
	}
}
