// Package bench is the root of Plinth's comparative benchmarks (see
// README.md). It is a module of its own so that the plinth binary never
// depends on the engines it is compared with; the programs are in the
// directories below it (kv: key-value engines).
//
// The package holds no code. Besides the documentation it makes `go build
// ./...` in this module match more than the one command, so the build
// checks the code instead of trying to write a binary named kv next to the
// kv directory.
package bench
