//go:build unix

package cli

import (
	"os"
	"syscall"
)

// inodeOf returns the file's inode number, which tells a rotated file from the old one.
func inodeOf(info os.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
