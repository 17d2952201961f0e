package biolat

// The programs are built with bpf2go; the generated Go and object files
// are committed, so building Plinth needs no clang. To rebuild them
// (Debian clang 14.0.6 and libbpf-dev 1.1 were used):
//
//	go generate ./hw/biolat/

//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type hist_key -type slow_io probes c/biolat.bpf.c
