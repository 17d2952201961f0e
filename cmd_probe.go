package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/hw/biolat"
)

func init() {
	var (
		dataDir  string
		interval time.Duration
		count    int
		slow     time.Duration
		asJSON   bool
	)
	register(&command{
		name:    "probe",
		summary: "print live per-drive block-IO latency histograms (eBPF; /sys/block stat otherwise)",
		usage:   "[DEVICE...]",
		help: `Loads the eBPF latency probes (package hw/biolat) for the DEVICEs given
(block devices, or files: the disk under their file system), or for the
drives of the embedded default node in --data, and every --interval prints,
for each drive and each class of request (read, write, flush, other) that
had any, a log2 histogram of issue-to-completion microseconds as
biolatency does, with the requests in flight. Requests slower than --slow
are printed as they complete. Needs root (CAP_BPF) and a kernel with BTF;
without them it says why and prints the kernel's per-disk averages from
/sys/block/DEV/stat instead. Stops after --count intervals, or on Ctrl-C.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dataDir, "data", appliance.DefaultDataDir, "data directory of the embedded default (when no DEVICE is given)")
			fs.DurationVar(&interval, "interval", time.Second, "time between prints")
			fs.IntVar(&count, "count", 0, "stop after this many prints (0: until Ctrl-C)")
			fs.DurationVar(&slow, "slow", 0, "print each request slower than this (0: none)")
			fs.BoolVar(&asJSON, "json", false, "print each interval as a JSON object")
		},
		run: func(fs *flag.FlagSet, stdout, stderr io.Writer) error {
			if interval <= 0 || count < 0 || slow < 0 {
				return usageError("--interval must be positive, --count and --slow not negative")
			}
			paths := fs.Args()
			if len(paths) == 0 {
				var err error
				if paths, err = defaultDrives(dataDir, ""); err != nil {
					return fmt.Errorf("%w (name the devices to probe)", err)
				}
			}
			disks := map[uint32]string{}
			for _, p := range paths {
				dev, name, err := biolat.DiskOf(p, "/sys")
				if err != nil {
					return err
				}
				disks[dev] = name
			}
			devs := make([]uint32, 0, len(disks))
			for d := range disks {
				devs = append(devs, d)
			}
			sort.Slice(devs, func(i, j int) bool { return devs[i] < devs[j] })
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			p, err := biolat.Load(biolat.Options{Devices: devs, Slow: slow})
			src := biolat.SourceOf(p, err)
			fmt.Fprintf(stderr, "latency source: %s: %s\n", src.Kind, src.Detail)
			if err != nil && !errors.Is(err, biolat.ErrUnavailable) {
				return err
			}
			if p != nil {
				defer p.Close()
				if slow > 0 {
					go func() {
						for {
							ev, err := p.NextSlow()
							if err != nil {
								return
							}
							fmt.Fprintf(stdout, "SLOW %s (%s)\n", ev, disks[ev.Dev])
						}
					}()
				}
			}
			prev := map[uint32]*biolat.Drive{}
			prevStat := map[uint32]biolat.SysStat{}
			for n := 0; count == 0 || n < count; n++ {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
				now := time.Now().Format("15:04:05")
				if p == nil {
					printSysStat(stdout, now, devs, disks, prevStat, asJSON)
					continue
				}
				hs, err := p.Histograms()
				if err != nil {
					return err
				}
				printProbe(stdout, now, devs, disks, hs, prev, asJSON)
				prev = hs
			}
			return nil
		},
	})
}

// printProbe prints each drive's requests of the last interval.
func printProbe(w io.Writer, now string, devs []uint32, names map[uint32]string, hs, prev map[uint32]*biolat.Drive, asJSON bool) {
	type opFigures struct {
		Requests uint64               `json:"requests"`
		P50      string               `json:"p50"`
		P99      string               `json:"p99"`
		Hist     [biolat.Slots]uint64 `json:"log2_usecs"`
	}
	type driveFigures struct {
		Drive    string               `json:"drive"`
		Dev      string               `json:"dev"`
		InFlight int64                `json:"in_flight"`
		Ops      map[string]opFigures `json:"ops"`
	}
	var out []driveFigures
	for _, d := range devs {
		cur := hs[d]
		if cur == nil {
			cur = &biolat.Drive{Dev: d}
		}
		old := prev[d]
		f := driveFigures{Drive: names[d], Dev: biolat.DevString(d), InFlight: cur.InFlight, Ops: map[string]opFigures{}}
		for op := biolat.Op(0); op < biolat.NrOps; op++ {
			h := cur.Issue[op]
			if old != nil {
				h = h.Sub(old.Issue[op])
			}
			if h.Total() == 0 {
				continue
			}
			f.Ops[op.String()] = opFigures{Requests: h.Total(), P50: h.Quantile(0.5).String(), P99: h.Quantile(0.99).String(), Hist: h.Counts}
			if !asJSON {
				fmt.Fprintf(w, "%s %s (%s) %s: %d requests, p50 < %v, p99 < %v, %d in flight\n", now, names[d], biolat.DevString(d), op, h.Total(), h.Quantile(0.5), h.Quantile(0.99), cur.InFlight)
				biolat.WriteHist(w, h, 40)
			}
		}
		if !asJSON && len(f.Ops) == 0 {
			fmt.Fprintf(w, "%s %s (%s): idle, %d in flight\n", now, names[d], biolat.DevString(d), cur.InFlight)
		}
		out = append(out, f)
	}
	if asJSON {
		json.NewEncoder(w).Encode(map[string]any{"time": now, "source": "ebpf", "drives": out})
	}
}

// printSysStat prints each drive's mean latencies of the last interval
// from /sys/block/DEV/stat.
func printSysStat(w io.Writer, now string, devs []uint32, names map[uint32]string, prev map[uint32]biolat.SysStat, asJSON bool) {
	type figures struct {
		Drive    string            `json:"drive"`
		InFlight uint64            `json:"in_flight"`
		Requests map[string]uint64 `json:"requests"`
		Mean     map[string]string `json:"mean"`
	}
	var out []figures
	for _, d := range devs {
		st, err := biolat.ReadSysStat("/sys", names[d])
		if err != nil {
			fmt.Fprintf(w, "%s %s: %v\n", now, names[d], err)
			continue
		}
		old, had := prev[d]
		prev[d] = st
		f := figures{Drive: names[d], InFlight: st.InFlight, Requests: map[string]uint64{}, Mean: map[string]string{}}
		for op := biolat.Op(0); op < biolat.NrOps; op++ {
			n, t := st.IOs[op], st.Ticks[op]
			if had {
				n, t = n-min(old.IOs[op], n), t-min(old.Ticks[op], t)
			}
			if n == 0 {
				continue
			}
			f.Requests[op.String()], f.Mean[op.String()] = n, (t / time.Duration(n)).String()
		}
		if asJSON {
			out = append(out, f)
			continue
		}
		fmt.Fprintf(w, "%s %s: %d in flight", now, names[d], st.InFlight)
		for op := biolat.Op(0); op < biolat.NrOps; op++ {
			if n := f.Requests[op.String()]; n > 0 {
				fmt.Fprintf(w, ", %s %d (mean %s)", op, n, f.Mean[op.String()])
			}
		}
		fmt.Fprintln(w)
	}
	if asJSON {
		json.NewEncoder(w).Encode(map[string]any{"time": now, "source": "sysfs", "drives": out})
	}
}
