package torture

import (
	"bytes"
	"errors"

	"github.com/plinth-storage/plinth/appliance/kv"
)

func (ru *runner) indexUsable(name string) (ok, skip bool) { return usable(ru.m.indexes[name]) }

func (ru *runner) noIndex(what string, err error) {
	if !errors.Is(err, kv.ErrNoIndex) && !ru.powerOff(err) {
		ru.res.fail("%s on an index that does not exist: want ErrNoIndex, got %v", what, err)
	}
}

func (ru *runner) createIndex(o Op) {
	name := indexName(o.Bucket)
	ru.created("index "+name, ru.m.index(name), ru.r.srv.KV().Create(bg, name), kv.ErrExists)
}

func (ru *runner) dropIndex(o Op) {
	name := indexName(o.Bucket)
	ok, skip := ru.indexUsable(name)
	if skip {
		return
	}
	err := ru.r.srv.KV().Drop(bg, name)
	if !ok {
		ru.noIndex("drop index", err)
		return
	}
	switch {
	case err == nil:
		ru.m.indexes[name] = newContainer()
		ru.res.Acked++
	case errors.Is(err, kv.ErrNoIndex):
		ru.res.fail("drop index %s: %v, but it exists", name, err)
	default:
		ru.writeError("drop index "+name, err)
		ru.m.index(name).maybe = true
	}
}

func (ru *runner) batch(o Op) {
	name := indexName(o.Bucket)
	ok, skip := ru.indexUsable(name)
	if skip {
		return
	}
	ops := make([]kv.Op, len(o.Batch))
	states := make([]state, len(o.Batch))
	for i, bo := range o.Batch {
		ops[i] = kv.Op{Delete: bo.Delete, Key: []byte(kvKey(bo.Key))}
		if !bo.Delete {
			ops[i].Value = kvValue(o.Content+uint64(i), bo.Len)
			states[i] = state{live: true, value: string(ops[i].Value)}
		}
	}
	rs, err := ru.r.srv.KV().Batch(bg, name, ops)
	if !ok {
		ru.noIndex("batch", err)
		return
	}
	c := ru.m.index(name)
	switch {
	case err == nil:
		ru.res.Acked++
		for i, bo := range o.Batch {
			if rs[i].Superseded {
				ru.res.fail("batch on %s: op %d (%s) with a version from the clock was superseded", name, i, kvKey(bo.Key))
				continue
			}
			s := states[i]
			s.version = rs[i].Version
			c.key(kvKey(bo.Key)).ack(s)
		}
	case errors.Is(err, kv.ErrNoIndex):
		ru.res.fail("batch on %s: %v, but the index exists", name, err)
	default:
		ru.writeError("batch on "+name, err)
		for i, bo := range o.Batch {
			c.key(kvKey(bo.Key)).fail(states[i])
		}
	}
}

func (ru *runner) kvGet(o Op) {
	name, kname := indexName(o.Bucket), kvKey(o.Key)
	ok, skip := ru.indexUsable(name)
	if skip {
		return
	}
	e, err := ru.r.srv.KV().Get(name, []byte(kname))
	if !ok {
		ru.noIndex("get", err)
		return
	}
	ru.observeKV(name, kname, ru.m.index(name).key(kname), e, err, false)
}

// observeKV compares a Get's answer with the key's candidates.
func (ru *runner) observeKV(name, kname string, k *key, e kv.Entry, err error, settle bool) {
	cands := k.candidates()
	if errors.Is(err, kv.ErrNotFound) {
		for _, c := range cands {
			if !c.live {
				if settle {
					k.settle(c)
				}
				return
			}
		}
		ru.lost("%s/%s is not found; it must be %v", name, kname, cands)
		return
	}
	if err != nil {
		ru.readError("get "+name+"/"+kname, err)
		return
	}
	for _, c := range cands {
		if c.live && c.value == string(e.Value) && (c.version == 0 || c.version == e.Version) {
			if settle {
				c.version = e.Version
				k.settle(c)
			}
			return
		}
	}
	ru.wrong("%s/%s holds %d bytes at version %d; it must be one of %v", name, kname, len(e.Value), e.Version, cands)
}

// kvReplay sends the key's acknowledged write again: nothing changes.
func (ru *runner) kvReplay(o Op) {
	name, kname := indexName(o.Bucket), kvKey(o.Key)
	ok, _ := ru.indexUsable(name)
	if !ok {
		return
	}
	k := ru.m.index(name).keys[kname]
	if k == nil || k.acked == nil || len(k.maybe) > 0 {
		return
	}
	s := *k.acked
	var err error
	if s.live {
		_, err = ru.r.srv.KV().Put(bg, name, []byte(kname), []byte(s.value), s.version)
	} else {
		_, err = ru.r.srv.KV().Delete(bg, name, []byte(kname), s.version)
	}
	switch {
	case errors.Is(err, kv.ErrSuperseded), ru.powerOff(err):
	case err == nil:
		ru.res.fail("replayed write of %s/%s version %d was applied again", name, kname, s.version)
	default:
		ru.tracef("     kv replay failed: %v", err)
	}
}

// rangeCheck pages through an index and compares the live keys with the
// model (keys whose state is uncertain may be either way).
func (ru *runner) rangeCheck(o Op) {
	name := indexName(o.Bucket)
	ok, _ := ru.indexUsable(name)
	if !ok {
		return
	}
	got, err := ru.rangeAll(name, 1+o.Key%9)
	if err != nil {
		ru.readError("range "+name, err)
		return
	}
	ru.compareListing("index "+name, ru.m.index(name), got)
}

func (ru *runner) rangeAll(name string, page int) ([]string, error) {
	var got []string
	var from []byte
	for {
		es, next, err := ru.r.srv.KV().Range(name, kv.RangeOptions{From: from, Limit: page})
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			got = append(got, string(e.Key))
		}
		if next == nil {
			return got, nil
		}
		if from != nil && bytes.Compare(next, from) <= 0 {
			ru.res.fail("range of %s does not advance: next %q after %q", name, next, from)
			return got, nil
		}
		from = next
	}
}

// compareListing checks a listing (names in order) against a container.
func (ru *runner) compareListing(what string, c *container, got []string) {
	seen := map[string]bool{}
	for i, g := range got {
		if i > 0 && g <= got[i-1] {
			ru.res.fail("%s: listing out of order or repeated: %q after %q", what, g, got[i-1])
		}
		seen[g] = true
		k := c.keys[g]
		if k == nil {
			ru.wrong("%s lists %q, which was never written", what, g)
			continue
		}
		if live, sure := k.liveNow(); sure && !live {
			ru.wrong("%s lists %q, which is deleted", what, g)
		}
	}
	for name, k := range c.keys {
		if live, sure := k.liveNow(); sure && live && !seen[name] {
			ru.lost("%s does not list %q", what, name)
		}
	}
}
