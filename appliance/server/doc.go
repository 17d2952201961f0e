// Package server assembles a running node: it opens the drives (wrapped
// for IO accounting), the metadata store, the hybrid clock, the pools, the
// object store and the key-value indexes, the events journal and the
// metrics, and serves the HTTP API until it is told to stop; then it stops
// taking requests, lets those under way finish, closes the pools and
// takes a final metadata checkpoint. `plinth serve` is a thin shell
// around it.
//
// # Data directory
//
//	token          the API's bearer token (mode 0600, made on first start)
//	console.sock   the support console's socket (mode 0600; package
//	               console, console.go), there while the node runs
//	events/        the events journal (package events)
//	drives/        the embedded default's emulated drives, when no drives
//	               are configured (package appliance)
package server
