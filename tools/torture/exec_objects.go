package torture

import (
	"bytes"
	"errors"
	"io"

	"github.com/plinth-storage/plinth/appliance/kv"
	"github.com/plinth-storage/plinth/appliance/objects"
)

// usable says how an operation on a bucket or index should go: ok (it
// certainly exists), or expect ErrNoBucket/ErrNoIndex (certainly not), or
// skip (unknown until a restart).
func usable(c *container) (ok, skip bool) {
	switch {
	case c == nil || !c.exists && !c.maybe:
		return false, false
	case c.maybe:
		return false, true
	}
	return true, false
}

func (ru *runner) bucketUsable(name string) (ok, skip bool) { return usable(ru.m.buckets[name]) }

// noBucket checks an operation on a bucket the model says does not exist.
func (ru *runner) noBucket(what string, err error) {
	if !errors.Is(err, objects.ErrNoBucket) && !ru.powerOff(err) {
		ru.res.fail("%s on a bucket that does not exist: want ErrNoBucket, got %v", what, err)
	}
}

func (ru *runner) createBucket(o Op) {
	name := bucketName(o.Bucket)
	_, err := ru.r.srv.Objects().CreateBucket(bg, name)
	ru.created("bucket "+name, ru.m.bucket(name), err, objects.ErrBucketExists)
}

// created records a create's outcome on a bucket or index.
func (ru *runner) created(what string, c *container, err, errExists error) {
	switch {
	case err == nil:
		if c.exists && !c.maybe {
			ru.res.fail("create %s: it exists, yet the create succeeded", what)
		}
		c.exists, c.maybe = true, false
		ru.res.Acked++
	case errors.Is(err, errExists):
		if !c.exists && !c.maybe {
			ru.res.fail("create %s: %v, but it was never created or was deleted", what, err)
		}
		c.exists, c.maybe = true, false
	default:
		ru.writeError("create "+what, err)
		c.maybe = true
	}
}

func (ru *runner) deleteBucket(o Op) {
	name := bucketName(o.Bucket)
	ok, skip := ru.bucketUsable(name)
	if skip {
		return
	}
	c := ru.m.bucket(name)
	err := ru.r.srv.Objects().DeleteBucket(bg, name)
	if !ok {
		ru.noBucket("delete bucket", err)
		return
	}
	empty, certain := true, true
	for _, k := range c.keys {
		live, sure := k.liveNow()
		if !sure {
			certain = false
		} else if live {
			empty = false
		}
	}
	switch {
	case err == nil:
		if certain && !empty {
			ru.res.fail("delete bucket %s succeeded with objects in it", name)
		}
		ru.m.buckets[name] = newContainer()
		ru.res.Acked++
	case errors.Is(err, objects.ErrBucketNotEmpty):
		if certain && empty {
			ru.res.fail("delete bucket %s: %v, but every object in it was deleted", name, err)
		}
	case errors.Is(err, objects.ErrNoBucket):
		ru.res.fail("delete bucket %s: %v, but it exists", name, err)
	default:
		ru.writeError("delete bucket "+name, err)
		c.maybe = true
	}
}

func (ru *runner) put(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	ok, skip := ru.bucketUsable(bname)
	if skip {
		return
	}
	size := o.Size
	if ru.m.liveBytes()+size > roomBytes {
		size = min(size, 4096) // keep the pool from filling up
	}
	_, err := ru.r.srv.Objects().Put(bg, bname, kname, &contentReader{seed: o.Content, size: size},
		objects.PutOptions{Size: size, ContentType: "application/octet-stream"})
	if !ok {
		ru.noBucket("put", err)
		return
	}
	ru.putResult(bname, kname, state{live: true, size: size, content: o.Content}, err)
}

// putResult records what became of a write of s (version 0: assigned).
func (ru *runner) putResult(bname, kname string, s state, err error) {
	k := ru.m.bucket(bname).key(kname)
	switch {
	case err == nil:
		ru.res.Acked++
		k.ack(s)
	case errors.Is(err, objects.ErrSuperseded) && s.version == 0:
		ru.res.fail("write of %s/%s with a version from the clock was superseded: %v", bname, kname, err)
	case errors.Is(err, objects.ErrNoBucket):
		ru.res.fail("write of %s/%s: %v, but the bucket exists", bname, kname, err)
	default:
		ru.writeError("write "+bname+"/"+kname, err)
		k.fail(s)
	}
}

func (ru *runner) writeError(what string, err error) {
	if errors.Is(err, objects.ErrInvalid) || errors.Is(err, kv.ErrInvalid) {
		ru.res.fail("%s: the harness sent a request the node calls invalid: %v", what, err)
	}
	ru.res.WriteErrors++
	ru.tracef("     %s failed: %v", what, err)
}

func (ru *runner) deleteObject(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	ok, skip := ru.bucketUsable(bname)
	if skip {
		return
	}
	v, err := ru.r.srv.Objects().Delete(bg, bname, kname, 0)
	if !ok {
		ru.noBucket("delete", err)
		return
	}
	ru.putResult(bname, kname, state{version: v}, err)
}

// sure returns the key's acknowledged state when nothing is uncertain.
func (ru *runner) sure(bname, kname string) (state, bool) {
	ok, _ := ru.bucketUsable(bname)
	if !ok {
		return state{}, false
	}
	k := ru.m.bucket(bname).keys[kname]
	if k == nil || k.acked == nil || len(k.maybe) > 0 || k.acked.version == 0 {
		return state{}, false
	}
	return *k.acked, true
}

// replay sends the key's last acknowledged write again, same version and
// bytes: it must change nothing.
func (ru *runner) replay(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	s, ok := ru.sure(bname, kname)
	if !ok {
		return
	}
	objs := ru.r.srv.Objects()
	if s.live {
		_, err := objs.Put(bg, bname, kname, &contentReader{seed: s.content, size: s.size},
			objects.PutOptions{Size: s.size, Version: s.version})
		switch {
		case err == nil:
			ru.res.fail("replayed write of %s/%s version %d was applied again", bname, kname, s.version)
		case errors.Is(err, objects.ErrSuperseded), ru.powerOff(err):
		default:
			ru.tracef("     replay failed: %v", err)
		}
		return
	}
	_, err := objs.Delete(bg, bname, kname, s.version)
	if err != nil && !errors.Is(err, objects.ErrSuperseded) {
		ru.tracef("     replayed delete failed: %v", err)
	}
}

// stale writes with a version older than the key's: superseded.
func (ru *runner) stale(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	s, ok := ru.sure(bname, kname)
	if !ok || s.version < 2 {
		return
	}
	_, err := ru.r.srv.Objects().Put(bg, bname, kname, &contentReader{seed: o.Content, size: 100},
		objects.PutOptions{Size: 100, Version: s.version - 1})
	switch {
	case err == nil:
		ru.res.fail("write of %s/%s at version %d, older than its version %d, was applied", bname, kname, s.version-1, s.version)
	case errors.Is(err, objects.ErrSuperseded), ru.powerOff(err):
	default:
		ru.tracef("     stale write failed: %v", err)
	}
}

// tieDelete deletes at the version of the live value: the tombstone wins.
func (ru *runner) tieDelete(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	s, ok := ru.sure(bname, kname)
	if !ok || !s.live {
		return
	}
	_, err := ru.r.srv.Objects().Delete(bg, bname, kname, s.version)
	if errors.Is(err, objects.ErrSuperseded) {
		ru.res.fail("delete of %s/%s at the version of its value (%d) was superseded; the tombstone must win", bname, kname, s.version)
		return
	}
	ru.putResult(bname, kname, state{version: s.version}, err)
}

// get reads an object (a range of it) and compares it with the model.
func (ru *runner) get(o Op) {
	bname, kname := bucketName(o.Bucket), keyName(o.Key)
	ok, skip := ru.bucketUsable(bname)
	if skip {
		return
	}
	objs := ru.r.srv.Objects()
	info, err := objs.Head(bname, kname)
	if !ok {
		ru.noBucket("head", err)
		return
	}
	k := ru.m.bucket(bname).key(kname)
	ru.observeObject(bname, kname, k, info, err, o.Off, false)
}

// observeObject compares what Head found (and the bytes from off/1024 of
// the object) with the key's candidates; settle records it as durable.
func (ru *runner) observeObject(bname, kname string, k *key, info objects.ObjectInfo, err error, off int64, settle bool) {
	cands := k.candidates()
	if errors.Is(err, objects.ErrNotFound) {
		for _, c := range cands {
			if !c.live {
				if settle {
					k.settle(c)
				}
				return
			}
		}
		ru.lost("%s/%s is not found; it must be %v", bname, kname, cands)
		return
	}
	if err != nil {
		ru.readError("head "+bname+"/"+kname, err)
		return
	}
	var match []state
	for _, c := range cands {
		if c.live && c.size == info.Size && (c.version == 0 || c.version == info.Version) {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		if anyLive(cands) {
			ru.wrong("%s/%s is %d bytes at version %d; it must be one of %v", bname, kname, info.Size, info.Version, cands)
		} else {
			ru.wrong("%s/%s exists (%d bytes, version %d); it was deleted or never written: %v", bname, kname, info.Size, info.Version, cands)
		}
		return
	}
	from := info.Size * off / 1024
	got, err := ru.readObject(bname, kname, from)
	if err != nil {
		if settle && !ru.powerOff(err) {
			ru.lost("%s/%s cannot be read after a restart: %v", bname, kname, err)
			return
		}
		ru.readError("read "+bname+"/"+kname, err)
		return
	}
	want := make([]byte, len(got))
	for _, c := range match {
		fill(want, c.content, from)
		if int64(len(got)) == info.Size-from && bytes.Equal(got, want) {
			if settle {
				c.version = info.Version
				k.settle(c)
			}
			return
		}
	}
	ru.wrong("%s/%s: %d bytes from %d differ from every version it may hold (%v)", bname, kname, len(got), from, match)
}

func anyLive(s []state) bool {
	for _, c := range s {
		if c.live {
			return true
		}
	}
	return false
}

func (ru *runner) readObject(bname, kname string, from int64) ([]byte, error) {
	rd, err := ru.r.srv.Objects().Open(bg, bname, kname, from, -1)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

// readError: reads within the layout's promise must succeed.
func (ru *runner) readError(what string, err error) {
	if ru.powerOff(err) {
		return
	}
	ru.res.ReadErrors++
	if ru.cfg.Exceed {
		ru.tracef("     %s failed (beyond the promise): %v", what, err)
		return
	}
	ru.res.fail("%s failed: %v", what, err)
}

func (ru *runner) lost(format string, args ...any) {
	ru.res.Lost++
	if ru.cfg.Exceed {
		ru.tracef("     lost (beyond the promise): "+format, args...)
		return
	}
	ru.res.fail("LOST: "+format, args...)
}

func (ru *runner) wrong(format string, args ...any) {
	ru.res.WrongReads++
	ru.res.fail("WRONG READ: "+format, args...)
}
