package console

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
)

// Where things lie: object locate BUCKET/KEY, set show ID, segment show
// DRIVE SEG.

// LocateObjectResult is object locate's result.
type LocateObjectResult struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	pool.OwnerLocation
}

func init() {
	register(&Command{Name: "buckets", Summary: "the buckets and the pool each lives in", Result: "[]objects.BucketInfo",
		run: func(x *call) (any, error) {
			if x.node.Objects == nil {
				return nil, errUnavailable("object store")
			}
			return x.node.Objects.Buckets(), nil
		}})
	register(&Command{Name: "object locate", Summary: "where an object lies: version, extents, sets, stripes, member drives and LBAs", Result: "LocateObjectResult",
		Args: []Arg{
			{Name: "object", Type: "string", Positional: true, Required: true, Complete: "bucket", Help: "BUCKET/KEY"},
			{Name: "from", Type: "int", Help: "first byte offset of interest (default 0)"},
			{Name: "max", Type: "int", Help: "most extents listed (default 1000)"},
		},
		run: runLocate})
	register(&Command{Name: "set show", Summary: "a segment set: state, stream, live bytes, members on drives, repair queue", Result: "pool.SetInfo",
		Args: []Arg{
			{Name: "set", Type: "int", Positional: true, Required: true, Help: "the set's id"},
			{Name: "pool", Type: "string", Help: "its pool (needed when several pools have a set with that id)"},
		},
		run: runSetShow})
	register(&Command{Name: "segment show", Summary: "a data segment of a drive: state, generation, set, live bytes, LBAs, zone", Result: "pool.SegmentInfo",
		Args: []Arg{
			driveArg("the drive: its position or path"),
			{Name: "segment", Type: "int", Positional: true, Required: true, Help: "the segment's index on the drive"},
		},
		run: runSegmentShow})
}

// splitObject splits BUCKET/KEY.
func (x *call) splitObject(name string) (bucket, key string, err error) {
	bucket, key, ok := strings.Cut(x.str(name), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", errorf(CodeBadArgs, "%s: %s %q: want BUCKET/KEY", x.cmd.Name, name, x.str(name))
	}
	return bucket, key, nil
}

func runLocate(x *call) (any, error) {
	if x.node.Objects == nil {
		return nil, errUnavailable("object store")
	}
	bucket, key, err := x.splitObject("object")
	if err != nil {
		return nil, err
	}
	from, err := x.nonNegative("from")
	if err != nil {
		return nil, err
	}
	max, err := x.nonNegative("max")
	if err != nil {
		return nil, err
	}
	p, owner, err := x.node.Objects.Owner(bucket, key)
	if err != nil {
		return nil, err
	}
	loc, err := p.Locate(x.ctx, owner, pool.LocateOptions{From: from, Max: int(max)})
	if err != nil {
		return nil, err
	}
	return LocateObjectResult{Bucket: bucket, Key: key, OwnerLocation: loc}, nil
}

// pickPool finds the pool named by the "pool" argument, or the pools to
// search when none is named.
func (x *call) pickPools() ([]*pool.Pool, error) {
	name := x.str("pool")
	if name == "" {
		return x.node.Pools, nil
	}
	for _, p := range x.node.Pools {
		if p.Name() == name {
			return []*pool.Pool{p}, nil
		}
	}
	return nil, errorf(CodeNotFound, "no pool %q (pools lists them)", name)
}

func runSetShow(x *call) (any, error) {
	id, err := x.nonNegative("set")
	if err != nil {
		return nil, err
	}
	pools, err := x.pickPools()
	if err != nil {
		return nil, err
	}
	var found []pool.SetInfo
	for _, p := range pools {
		si, err := p.DescribeSet(x.ctx, uint64(id))
		if errors.Is(err, alloc.ErrNoSet) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, si)
	}
	switch len(found) {
	case 0:
		return nil, withCode(CodeNotFound, fmt.Errorf("set %d: %w (never made, or released since)", id, alloc.ErrNoSet))
	case 1:
		return found[0], nil
	}
	var names []string
	for _, f := range found {
		names = append(names, f.Pool)
	}
	return nil, errorf(CodeBadArgs, "set %d exists in pools %s: name one with pool=", id, strings.Join(names, ", "))
}

func runSegmentShow(x *call) (any, error) {
	d, err := x.findDrive("drive")
	if err != nil {
		return nil, err
	}
	idx, err := x.nonNegative("segment")
	if err != nil {
		return nil, err
	}
	if idx > 1<<32-1 {
		return nil, x.bad("segment", idx, "a segment index")
	}
	for _, p := range x.node.Pools {
		if p.Name() != d.Pool {
			continue
		}
		return p.DescribeSegment(d.Position, uint32(idx))
	}
	return nil, errorf(CodeNotFound, "drive %d (%s) belongs to no pool: its segments are in no allocator", d.Position, d.Path)
}
