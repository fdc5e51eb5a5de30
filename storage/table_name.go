package storage

import "fmt"

// validateTableName checks that name can be a table and a directory name on every
// platform we care about: 1..128 of [A-Za-z0-9_.-], and neither "." nor "..".
func validateTableName(name string) error {
	if name == "" {
		return fmt.Errorf("table name is empty: %w", ErrInvalidName)
	}
	if len(name) > maxTableNameLen {
		return fmt.Errorf("table name %q is %d bytes long; the limit is %d: %w", name, len(name), maxTableNameLen, ErrInvalidName)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("table name %q is reserved: %w", name, ErrInvalidName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
			continue
		}
		return fmt.Errorf("table name %q has %q at byte %d; use letters, digits, '_', '-' and '.': %w", name, c, i, ErrInvalidName)
	}
	return nil
}
