package console

import (
	"context"
	"errors"

	"github.com/plinth-storage/plinth/alloc"
	"github.com/plinth-storage/plinth/appliance/objects"
	"github.com/plinth-storage/plinth/btree"
	"github.com/plinth-storage/plinth/btree/store"
	"github.com/plinth-storage/plinth/pool"
)

// classify gives the errors of the layers below their reply code.
func classify(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, pool.ErrNotFound), errors.Is(err, objects.ErrNoBucket), errors.Is(err, objects.ErrNotFound),
		errors.Is(err, alloc.ErrNoSet), errors.Is(err, store.ErrNoTree), errors.Is(err, btree.ErrNoNode):
		return CodeNotFound
	case errors.Is(err, pool.ErrInvalid), errors.Is(err, objects.ErrInvalid), errors.Is(err, alloc.ErrInvalid),
		errors.Is(err, btree.ErrEmptyKey), errors.Is(err, btree.ErrKeyTooLarge), errors.Is(err, btree.ErrValueTooLarge):
		return CodeBadArgs
	}
	return CodeFailed
}
