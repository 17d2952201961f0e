package beck

import (
	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/server"
)

// PoolsFromConfig turns the "pools" of serve's configuration file into
// Options.Pools, as serve reads them: a layout "N+K" (empty: the default
// for the pool's drive count) and a stripe unit (0: the default).
func PoolsFromConfig(pools []server.PoolConfig) ([]appliance.PoolSpec, error) {
	return server.Config{Pools: pools}.PoolSpecs()
}
