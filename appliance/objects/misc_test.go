package objects_test

import (
	"sort"

	"github.com/plinth-storage/plinth/hlc"
)

func slicesSort(s []string) { sort.Strings(s) }

type fakeClock struct{}

func (fakeClock) Now() (hlc.Timestamp, error) { return 1, nil }
func (fakeClock) Update(hlc.Timestamp) error  { return nil }
