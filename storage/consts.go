package storage

// On-disk layout and format constants. Changing any of them changes the on-disk format:
// bump the format and teach recovery the old one instead.
const (
	// lockFileName is the file under the data directory that a running store holds an
	// exclusive flock on. flock (not a pid file) is used because the kernel drops it when
	// the process dies, so a crash never leaves a stale lock behind.
	lockFileName = "LOCK"

	// tablesDirName holds one directory per table: <dir>/tables/<name>/.
	tablesDirName = "tables"

	// trashDirName receives dropped tables. A table directory is renamed here first (one
	// atomic step) and then removed; Open empties it, so a crash in the middle of the
	// removal never resurrects a half-deleted table.
	trashDirName = "trash"

	// walFileName is the table's write-ahead log. There is one WAL per table today; when
	// sealed segments arrive the WAL will be rotated after each seal.
	walFileName = "wal.log"

	// tmpSuffix marks files being built before an atomic rename (IfExistsReplace writes
	// the new WAL as wal.log.tmp). Open removes leftovers: they were never acknowledged.
	tmpSuffix = ".tmp"

	// frameHeaderSize is [uint32 payload length][uint32 CRC32C of payload], little
	// endian. The length comes first so a reader knows how much to read before it can
	// check anything; the CRC covers the payload only, because a corrupt length is caught
	// by the bounds below and by the CRC failing over the wrong span.
	frameHeaderSize = 8

	// minFramePayload is the smallest payload a frame can carry: an Arrow IPC stream is at
	// least a schema message, a record batch message and the 8-byte end-of-stream marker,
	// each led by an 8-byte continuation and length prefix. A length below it (for
	// instance the zeros of a preallocated or torn tail) is not a frame.
	minFramePayload = 24

	// maxFramePayload bounds one frame (one batch). It keeps a corrupt length from making
	// recovery allocate gigabytes, and is far above any batch a collector sends (Flight
	// messages are capped at a few MiB by default). Write refuses larger batches; split
	// them.
	maxFramePayload = 1 << 30

	// ipcContinuation is the marker every encapsulated Arrow IPC message starts with, so
	// every frame payload starts with it too. Recovery uses it as a cheap prefilter when it
	// searches for valid frames after a corrupt one.
	ipcContinuation = 0xFFFFFFFF

	// walReadBufferSize is the read buffer used when replaying a WAL: large enough that
	// replay is bound by decoding, not by read syscalls.
	walReadBufferSize = 1 << 20

	// metaFramesLeft is the schema metadata key, in each frame's IPC stream, holding how
	// many frames of the same Write call follow this one ("0" on the last). Recovery keeps
	// a call only when its last frame is present, so a Write of several batches is atomic
	// across a crash.
	metaFramesLeft = "sigmaflight.wal.frames_left"

	// maxTableNameLen bounds table names; names are directory names, and 128 leaves room
	// under the 255-byte file name limit for suffixes such as trash timestamps.
	maxTableNameLen = 128

	// dirPerm and filePerm are the modes of created directories and files; the data is
	// not secret from the host's other users by default, the directory's mode decides.
	dirPerm  = 0o755
	filePerm = 0o644
)
