package console

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/pool"
)

// Repairs: repair stripe SET STRIPE, repair object BUCKET/KEY.

// RepairObjectResult is repair object's result.
type RepairObjectResult struct {
	Bucket  string              `json:"bucket"`
	Key     string              `json:"key"`
	Pool    string              `json:"pool"`
	Stripes []pool.StripeRepair `json:"stripes"`
	// Damaged counts the stripes found damaged, Rewritten those whose
	// live records were rewritten.
	Damaged   int `json:"damaged"`
	Rewritten int `json:"rewritten"`
}

func init() {
	register(&Command{Name: "repair stripe", Summary: "check a stripe (data and parity) and, if damaged, rewrite its live records from parity elsewhere", Mutating: true, Result: "pool.StripeRepair",
		Args: []Arg{
			{Name: "set", Type: "int", Positional: true, Required: true, Help: "the set's id"},
			{Name: "stripe", Type: "int", Positional: true, Required: true, Help: "the stripe's index in the set"},
			{Name: "pool", Type: "string", Help: "the set's pool (needed when several pools have a set with that id)"},
			{Name: "force", Type: "bool", Help: "rewrite even a sound stripe"},
		},
		run: runRepairStripe})
	register(&Command{Name: "repair object", Summary: "check every stripe of an object and rewrite the damaged ones' live records from parity", Mutating: true, Result: "RepairObjectResult",
		Args: []Arg{
			{Name: "object", Type: "string", Positional: true, Required: true, Complete: "bucket", Help: "BUCKET/KEY"},
			{Name: "force", Type: "bool", Help: "rewrite every stripe, sound or not"},
		},
		run: runRepairObject})
}

func runRepairStripe(x *call) (any, error) {
	set, err := x.nonNegative("set")
	if err != nil {
		return nil, err
	}
	st, err := x.nonNegative("stripe")
	if err != nil {
		return nil, err
	}
	force, err := x.boolean("force")
	if err != nil {
		return nil, err
	}
	pools, err := x.pickPools()
	if err != nil {
		return nil, err
	}
	var in []*pool.Pool
	for _, p := range pools {
		if _, err := p.Allocator().Lookup(alloc.SetID(set)); err == nil {
			in = append(in, p)
		} else if !errors.Is(err, alloc.ErrNoSet) {
			return nil, err
		}
	}
	switch len(in) {
	case 0:
		return nil, withCode(CodeNotFound, fmt.Errorf("set %d: %w (never made, or released since)", set, alloc.ErrNoSet))
	case 1:
	default:
		var names []string
		for _, p := range in {
			names = append(names, p.Name())
		}
		return nil, errorf(CodeBadArgs, "set %d exists in pools %s: name one with pool=", set, strings.Join(names, ", "))
	}
	return in[0].RepairStripe(x.ctx, uint64(set), st, force)
}

func runRepairObject(x *call) (any, error) {
	if x.node.Objects == nil {
		return nil, errUnavailable("object store")
	}
	bucket, key, err := x.splitObject("object")
	if err != nil {
		return nil, err
	}
	force, err := x.boolean("force")
	if err != nil {
		return nil, err
	}
	p, owner, err := x.node.Objects.Owner(bucket, key)
	if err != nil {
		return nil, err
	}
	rs, err := p.RepairOwner(x.ctx, owner, force)
	if err != nil {
		return nil, err
	}
	out := RepairObjectResult{Bucket: bucket, Key: key, Pool: p.Name(), Stripes: rs}
	if out.Stripes == nil {
		out.Stripes = []pool.StripeRepair{}
	}
	for _, r := range rs {
		if !r.Sound {
			out.Damaged++
		}
		if r.Rewritten {
			out.Rewritten++
		}
	}
	return out, nil
}
