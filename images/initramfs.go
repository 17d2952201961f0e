package images

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// initramfsEntry is one file, directory, symlink or device of the
// initramfs, before it is written.
type initramfsEntry struct {
	path   string      // without the leading '/'
	mode   fs.FileMode // type and permission bits (Go's representation)
	target string      // a symlink's target
	major  uint64      // a device's numbers
	minor  uint64
	// part names a regular file in the manifest; load reads its content
	// when it is written (so one file at a time is in memory).
	part string
	load func() ([]byte, error)
}

// initramfsLayout collects the entries, refusing two at one path.
type initramfsLayout struct {
	entries map[string]*initramfsEntry
}

func newInitramfsLayout() *initramfsLayout {
	l := &initramfsLayout{entries: map[string]*initramfsEntry{}}
	for _, d := range []string{"bin", "dev", "proc", "sys", "run", "var/lib/plinth", "etc/plinth", "lib/modules"} {
		l.dir(d, 0o755)
	}
	l.dir("tmp", 0o777|fs.ModeSticky)
	l.entries["dev/console"] = &initramfsEntry{path: "dev/console", mode: fs.ModeDevice | fs.ModeCharDevice | 0o600, major: 5, minor: 1}
	l.entries["init"] = &initramfsEntry{path: "init", mode: fs.ModeSymlink | 0o777, target: "bin/plinth"}
	return l
}

// dir adds a directory and its parents (0755 unless there already).
func (l *initramfsLayout) dir(p string, mode fs.FileMode) {
	for q := p; q != "." && q != "/" && q != ""; q = path.Dir(q) {
		if _, ok := l.entries[q]; !ok {
			m := fs.ModeDir | 0o755
			if q == p {
				m = fs.ModeDir | mode.Perm() | mode&fs.ModeSticky
			}
			l.entries[q] = &initramfsEntry{path: q, mode: m}
		}
	}
}

// file adds a regular file at p (absolute or not) with its parents.
func (l *initramfsLayout) file(p string, perm fs.FileMode, part string, load func() ([]byte, error)) error {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return fmt.Errorf("a file at / of the initramfs")
	}
	if e, ok := l.entries[p]; ok {
		what := "file"
		if e.mode.IsDir() {
			what = "directory"
		}
		return fmt.Errorf("/%s is already a %s of the initramfs", p, what)
	}
	parent := path.Dir(p)
	for q := parent; q != "."; q = path.Dir(q) {
		if e, ok := l.entries[q]; ok && !e.mode.IsDir() {
			return fmt.Errorf("/%s: /%s is a file of the initramfs, not a directory", p, q)
		}
	}
	if parent != "." {
		l.dir(parent, 0o755)
	}
	l.entries[p] = &initramfsEntry{path: p, mode: perm.Perm(), part: part, load: load}
	return nil
}

// sorted returns the entries in path order: a directory before what it
// holds, since its path is a prefix of theirs.
func (l *initramfsLayout) sorted() []*initramfsEntry {
	out := make([]*initramfsEntry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b *initramfsEntry) int { return strings.Compare(a.path, b.path) })
	return out
}

// write writes the gzip-compressed newc archive to w and returns the parts
// of its regular files, in path order.
func (l *initramfsLayout) write(w io.Writer, mtime int64) ([]Part, error) {
	if mtime < 0 || mtime > 1<<32-1 {
		return nil, fmt.Errorf("SOURCE_DATE_EPOCH %d does not fit newc's 32-bit mtime", mtime)
	}
	// The standard library's gzip writes no name, mtime 0 and OS 255 when
	// the header is left empty: the same bytes for the same input.
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	cw := cpio.Newc.Writer(zw)
	var parts []Part
	for i, e := range l.sorted() {
		info := cpio.Info{
			Ino:    uint64(i + 1),
			Mode:   cpioMode(e.mode),
			NLink:  1,
			MTime:  uint64(mtime),
			Rmajor: e.major,
			Rminor: e.minor,
			Name:   e.path,
		}
		var content []byte
		switch {
		case e.mode.IsDir():
			info.NLink = 2
		case e.mode&fs.ModeSymlink != 0:
			content = []byte(e.target)
		case e.mode.IsRegular():
			if content, err = e.load(); err != nil {
				return nil, err
			}
			sum := sha256.Sum256(content)
			parts = append(parts, Part{Name: e.part, Path: initramfsPath + "/" + e.path, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])})
		}
		rec := cpio.Record{Info: info}
		if content != nil {
			rec = cpio.StaticRecord(content, info)
		}
		if err := cw.WriteRecord(rec); err != nil {
			return nil, fmt.Errorf("writing /%s into the initramfs: %w", e.path, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return nil, fmt.Errorf("writing the initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("writing the initramfs: %w", err)
	}
	return parts, nil
}

// cpioMode is a file mode in the kernel's bits (S_IFDIR | 0755, ...).
func cpioMode(m fs.FileMode) uint64 {
	v := uint64(m.Perm())
	switch {
	case m.IsDir():
		v |= cpio.S_IFDIR
	case m&fs.ModeSymlink != 0:
		v |= cpio.S_IFLNK
	case m&fs.ModeCharDevice != 0:
		v |= cpio.S_IFCHR
	case m&fs.ModeDevice != 0:
		v |= cpio.S_IFBLK
	default:
		v |= cpio.S_IFREG
	}
	if m&fs.ModeSticky != 0 {
		v |= cpio.S_ISVTX
	}
	return v
}

// InitramfsFile is one entry of an initramfs as read back.
type InitramfsFile struct {
	Path   string      // with the leading '/'
	Mode   fs.FileMode // Go's representation
	Ino    uint64
	UID    uint64
	GID    uint64
	NLink  uint64
	MTime  int64
	Major  uint64 // a device's numbers
	Minor  uint64
	Target string // a symlink's target
	Size   int64
	SHA256 string // of a regular file's content
}

// ReadInitramfs lists a gzip-compressed newc initramfs (the bundle's), with
// every regular file's sha256, streaming: one pass, nothing held whole.
// Only call it on an initramfs whose hash has been verified: the cpio
// headers are trusted for sizes.
func ReadInitramfs(r io.Reader) ([]InitramfsFile, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: initramfs: %v", ErrFormat, err)
	}
	zr.Multistream(false)
	var out []InitramfsFile
	err = cpio.ForEachRecord(cpio.Newc.Reader(&forwardReaderAt{r: zr}), func(rec cpio.Record) error {
		f := InitramfsFile{
			Path: "/" + strings.TrimPrefix(rec.Name, "/"), Mode: goMode(rec.Mode), Ino: rec.Ino,
			UID: rec.UID, GID: rec.GID, NLink: rec.NLink, MTime: int64(rec.MTime),
			Major: rec.Rmajor, Minor: rec.Rminor, Size: int64(rec.FileSize),
		}
		content := io.NewSectionReader(rec.ReaderAt, 0, int64(rec.FileSize))
		switch rec.Mode & cpio.S_IFMT {
		case cpio.S_IFLNK:
			target, err := io.ReadAll(io.LimitReader(content, 4096))
			if err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
			f.Target = string(target)
		case cpio.S_IFREG:
			h := sha256.New()
			if n, err := io.Copy(h, content); err != nil || n != f.Size {
				return fmt.Errorf("%s: %d of %d bytes: %v", f.Path, n, f.Size, err)
			}
			f.SHA256 = hex.EncodeToString(h.Sum(nil))
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: initramfs cpio: %v", ErrFormat, err)
	}
	return out, nil
}

// forwardReaderAt serves the cpio reader's ReadAt calls, which move only
// forward, from a stream: the decompressed archive is never held whole.
type forwardReaderAt struct {
	r   io.Reader
	pos int64
}

func (f *forwardReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.pos {
		return 0, fmt.Errorf("initramfs: read at %d after %d: the archive is read in one pass", off, f.pos)
	}
	if off > f.pos {
		n, err := io.CopyN(io.Discard, f.r, off-f.pos)
		f.pos += n
		if err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(f.r, p) // io.EOF only when nothing was left
	f.pos += int64(n)
	return n, err
}

// goMode is the inverse of cpioMode.
func goMode(v uint64) fs.FileMode {
	m := fs.FileMode(v & 0o777)
	switch v & cpio.S_IFMT {
	case cpio.S_IFDIR:
		m |= fs.ModeDir
	case cpio.S_IFLNK:
		m |= fs.ModeSymlink
	case cpio.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case cpio.S_IFBLK:
		m |= fs.ModeDevice
	case cpio.S_IFREG:
	default:
		m |= fs.ModeIrregular
	}
	if v&cpio.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}
