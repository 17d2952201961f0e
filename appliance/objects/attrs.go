package objects

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/btree/store"
)

// ETagKey keys the ETag hash. It is part of the format.
var ETagKey = []byte("plinth object etag v1..........!")

// ObjectInfo describes an object.
type ObjectInfo struct {
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	Version     uint64            `json:"version"`
	ETag        string            `json:"etag"` // quoted hex, as in HTTP
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	Modified    time.Time         `json:"modified"`
}

// attrs is what an object's pool head carries besides size and version.
type attrs struct {
	etag        [16]byte
	modified    time.Time
	contentType string
	meta        map[string]string
}

func (a attrs) encode() []byte {
	b := []byte{1}
	b = append(b, a.etag[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.modified.UnixNano()))
	b = appendString(b, a.contentType)
	names := make([]string, 0, len(a.meta))
	for k := range a.meta {
		names = append(names, k)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = appendString(b, a.meta[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeAttrs decodes a head's attributes; anything malformed wraps
// store.ErrCorrupt.
func decodeAttrs(b []byte) (attrs, error) {
	var a attrs
	bad := func(why string) (attrs, error) {
		return attrs{}, fmt.Errorf("%w: object attributes: %s", store.ErrCorrupt, why)
	}
	if len(b) < 25 || b[0] != 1 {
		return bad(fmt.Sprintf("%d bytes, version %d", len(b), firstByte(b)))
	}
	copy(a.etag[:], b[1:17])
	a.modified = time.Unix(0, int64(binary.BigEndian.Uint64(b[17:25]))).UTC()
	r := b[25:]
	var ok bool
	if a.contentType, r, ok = readString(r); !ok {
		return bad("content type cut short")
	}
	n, k := binary.Uvarint(r)
	if k <= 0 || n > uint64(len(r)) {
		return bad("metadata count")
	}
	r = r[k:]
	prev := ""
	for i := uint64(0); i < n; i++ {
		var name, val string
		if name, r, ok = readString(r); !ok || name == "" || name <= prev && i > 0 || strings.ToLower(name) != name {
			return bad("metadata name")
		}
		if val, r, ok = readString(r); !ok {
			return bad("metadata value")
		}
		if a.meta == nil {
			a.meta = map[string]string{}
		}
		a.meta[name], prev = val, name
	}
	if len(r) != 0 {
		return bad(fmt.Sprintf("%d trailing bytes", len(r)))
	}
	return a, nil
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// info builds an ObjectInfo from the pool's figures and the attributes.
func info(bucket, key string, version uint64, size int64, raw []byte) (ObjectInfo, error) {
	oi := ObjectInfo{Bucket: bucket, Key: key, Size: size, Version: version}
	if raw == nil {
		return oi, nil // written without attributes (not by this package)
	}
	a, err := decodeAttrs(raw)
	if err != nil {
		return oi, fmt.Errorf("%s/%s: %w", bucket, key, err)
	}
	oi.ETag = `"` + hex.EncodeToString(a.etag[:]) + `"`
	oi.ContentType, oi.Metadata, oi.Modified = a.contentType, a.meta, a.modified
	return oi, nil
}

// checkMetadata bounds the content type and user metadata and normalises
// the names to lower case.
func checkMetadata(contentType string, meta map[string]string, max int) (map[string]string, error) {
	total := len(contentType)
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		name := strings.ToLower(k)
		if name == "" || strings.ContainsAny(name, "\r\n:") || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%w: metadata %q", ErrInvalid, k)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: metadata %q given twice", ErrInvalid, name)
		}
		out[name] = v
		total += len(name) + len(v)
	}
	if total > max {
		return nil, fmt.Errorf("%w: content type and metadata take %d bytes (at most %d)", ErrTooLarge, total, max)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}
