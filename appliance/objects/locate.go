package objects

import (
	"github.com/plinth-storage/plinth/pool"
)

// Owner returns the pool an object lives in and its owner name there
// ("o/" + bucket + "/" + key; see the package comment), for tools that
// look beneath the object layer (the support console's object locate and
// repair). The object need not exist; its bucket must.
func (s *Store) Owner(bucket, key string) (*pool.Pool, []byte, error) {
	if err := checkKey(key, s.opts.MaxKey); err != nil {
		return nil, nil, err
	}
	p, err := s.lookup(bucket)
	if err != nil {
		return nil, nil, err
	}
	return p, ownerOf(bucket, key), nil
}

// DescribeEntry decodes an entry of the buckets tree (BucketsTree) for
// people; it reports false for another tree.
func DescribeEntry(tree string, key, value []byte) (map[string]any, bool) {
	if tree != BucketsTree {
		return nil, false
	}
	b, err := decodeBucket(string(key), value)
	if err != nil {
		return map[string]any{"error": err.Error()}, true
	}
	return map[string]any{"bucket": b.Name, "pool": b.Pool, "created": b.Created}, true
}
