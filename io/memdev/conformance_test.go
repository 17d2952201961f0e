package memdev_test

import (
	"testing"

	"github.com/plinth-storage/plinth/io/dev"
	"github.com/plinth-storage/plinth/io/devtest"
	"github.com/plinth-storage/plinth/io/memdev"
)

func TestConformance(t *testing.T) {
	for _, bs := range []int{512, 4096} {
		var media *memdev.Device
		devtest.Run(t, devtest.Target{
			Name: "memdev",
			Open: func(testing.TB) (dev.Device, error) {
				if media == nil {
					media = memdev.New("mem", 8<<20, bs)
					return media, nil
				}
				return media.Reopen(), nil
			},
			StrictErrors: true,
		})
	}
}
