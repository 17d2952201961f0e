package torture

import (
	"sort"
)

// verifyAll compares the whole node with the model after a start: every
// bucket, object, index and key, the listings, and the checkers. What a
// read finds is now durable, so uncertain keys settle.
func (ru *runner) verifyAll() {
	srv := ru.r.srv
	have := map[string]bool{}
	for _, b := range srv.Objects().Buckets() {
		have[b.Name] = true
	}
	for _, name := range ru.resolve("bucket", have, ru.m.buckets) {
		c := ru.m.buckets[name]
		for _, kname := range sortedNames(c.keys) {
			info, err := srv.Objects().Head(name, kname)
			ru.observeObject(name, kname, c.keys[kname], info, err, 0, true)
		}
		if got, err := ru.listAll(name, 7); err != nil {
			ru.readError("list "+name, err)
		} else {
			ru.compareListing("bucket "+name, c, got)
		}
	}
	ixs, err := srv.KV().List()
	if err != nil {
		ru.readError("list indexes", err)
		return
	}
	have = map[string]bool{}
	for _, ix := range ixs {
		have[ix.Name] = true
	}
	for _, name := range ru.resolve("index", have, ru.m.indexes) {
		c := ru.m.indexes[name]
		for _, kname := range sortedNames(c.keys) {
			e, err := srv.KV().Get(name, []byte(kname))
			ru.observeKV(name, kname, c.keys[kname], e, err, true)
		}
		if got, err := ru.rangeAll(name, 5); err != nil {
			ru.readError("range "+name, err)
		} else {
			ru.compareListing("index "+name, c, got)
		}
	}
	if err := srv.Check(bg); err != nil {
		ru.res.CheckerFailures++
		if !ru.cfg.Exceed {
			ru.res.fail("checker: %v", err)
		}
	}
}

// resolve compares the buckets (or indexes) the node has with the model,
// settles those whose create or delete failed, and returns the names that
// exist, in order.
func (ru *runner) resolve(what string, have map[string]bool, cs map[string]*container) []string {
	for name := range have {
		if c := cs[name]; c == nil || !c.exists && !c.maybe {
			ru.wrong("%s %s exists; it was never created or was deleted", what, name)
		}
	}
	var exist []string
	for _, name := range sortedNames(cs) {
		c := cs[name]
		switch {
		case c.maybe:
			c.exists, c.maybe = have[name], false
			if !c.exists {
				cs[name] = newContainer()
			}
		case c.exists && !have[name]:
			ru.lost("%s %s is gone", what, name)
			continue
		}
		if c.exists {
			exist = append(exist, name)
		}
	}
	return exist
}

func sortedNames[T any](m map[string]T) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}
