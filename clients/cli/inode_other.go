//go:build !unix

package cli

import "os"

// inodeOf returns 0 where inodes are not available: rotation is then detected by size only.
func inodeOf(os.FileInfo) uint64 { return 0 }
