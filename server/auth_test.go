package server

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCostMatchesUsers checks that the hash compared against for unknown users
// costs as much as the most expensive real one: a cheaper one lets a caller tell unknown
// user names from known ones by the time a wrong password takes.
func TestDummyHashCostMatchesUsers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.UsersFile = writeUsersFile(t, 10)
	a, err := newAuthenticator(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := bcrypt.Cost(a.dummyHash); err != nil || got != 10 {
		t.Fatalf("dummy hash cost %d (%v); want 10, the cost of the users' hashes", got, err)
	}
}
