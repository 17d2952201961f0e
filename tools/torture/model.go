package torture

import "fmt"

// state is what a key holds after a write: a value (an object's content,
// or a key-value pair's value) or a tombstone, at a version.
type state struct {
	live    bool
	version uint64 // 0: assigned by the node and unknown (the write failed)
	size    int64  // objects: the content's size
	content uint64 // objects: the seed of the content's bytes
	value   string // kv: the value
}

func (s state) String() string {
	v := "?"
	if s.version != 0 {
		v = fmt.Sprint(s.version)
	}
	if !s.live {
		return "tombstone@" + v
	}
	if s.value != "" || s.size == 0 {
		return fmt.Sprintf("value(%d bytes)@%s#%x", max(s.size, int64(len(s.value))), v, s.content)
	}
	return fmt.Sprintf("object(%d bytes)@%s#%x", s.size, v, s.content)
}

// key is the model of one key: the state its last acknowledged write
// left (nil: none), and the writes that failed and so may or may not have
// been applied. A failed write whose version the node assigned is newer
// than everything acknowledged before it; any later acknowledged write is
// newer than it (the clock only goes forward), which is why an
// acknowledgement forgets the failed writes before it.
type key struct {
	acked *state
	maybe []state
}

// candidates are the states a read may find: the acknowledged one, or one
// of the failed writes that would beat it.
func (k *key) candidates() []state {
	var c []state
	if k.acked != nil {
		c = append(c, *k.acked)
	} else {
		c = append(c, state{}) // never written: absent
	}
	for _, m := range k.maybe {
		if k.acked == nil || beats(m, *k.acked) {
			c = append(c, m)
		}
	}
	return c
}

// beats: the newer version wins; at the same version a tombstone wins.
// An unknown version is a failed write the node numbered after every
// acknowledged one.
func beats(a, b state) bool {
	switch {
	case a.version == 0:
		return true
	case a.version != b.version:
		return a.version > b.version
	default:
		return !a.live && b.live
	}
}

// ack records an acknowledged write.
func (k *key) ack(s state) {
	k.acked, k.maybe = &s, nil
}

// fail records a write whose outcome is unknown.
func (k *key) fail(s state) { k.maybe = append(k.maybe, s) }

// settle records what a read after a restart found (one of the
// candidates): it is durable, and the failed writes that it does not show
// are gone.
func (k *key) settle(s state) {
	if !s.live && s.version == 0 && k.acked == nil {
		k.maybe = nil
		return
	}
	k.ack(s)
}

// liveNow reports whether the key certainly holds a value, and whether that
// is certain.
func (k *key) liveNow() (live, certain bool) {
	c := k.candidates()
	live = c[0].live
	for _, s := range c[1:] {
		if s.live != live {
			return false, false
		}
	}
	return live, true
}

// container is a bucket or an index: whether it exists (or may), and its
// keys.
type container struct {
	exists bool
	maybe  bool // a create or drop failed: existence unknown until a restart
	keys   map[string]*key
}

func newContainer() *container { return &container{keys: map[string]*key{}} }

func (c *container) key(name string) *key {
	k := c.keys[name]
	if k == nil {
		k = &key{}
		c.keys[name] = k
	}
	return k
}

// model is what must be true of the node: its buckets and indexes and
// every key's acknowledged state.
type model struct {
	buckets map[string]*container
	indexes map[string]*container
}

func newModel() *model {
	return &model{buckets: map[string]*container{}, indexes: map[string]*container{}}
}

func (m *model) bucket(name string) *container {
	c := m.buckets[name]
	if c == nil {
		c = newContainer()
		m.buckets[name] = c
	}
	return c
}

func (m *model) index(name string) *container {
	c := m.indexes[name]
	if c == nil {
		c = newContainer()
		m.indexes[name] = c
	}
	return c
}

// liveBytes is the bytes of the objects the model holds (failed writes
// counted), which the generator keeps under the pool's room.
func (m *model) liveBytes() int64 {
	var n int64
	for _, b := range m.buckets {
		for _, k := range b.keys {
			for _, s := range k.candidates() {
				if s.live {
					n += s.size
				}
			}
		}
	}
	return n
}
