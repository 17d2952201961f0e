package biolat

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
)

// ErrUnavailable: the probes cannot run here; the error says why.
var ErrUnavailable = errors.New("eBPF latency probes unavailable")

// kernelBTF is where the kernel publishes its BTF (a variable for the
// fallback test).
var kernelBTF = "/sys/kernel/btf/vmlinux"

// Options say what Load probes.
type Options struct {
	// Devices are the device numbers (DevNumber) of the drives to watch;
	// none: every drive of the machine.
	Devices []uint32
	// Slow, when set, streams every request slower than it (Events).
	Slow time.Duration
	// Raw uses raw tracepoints even where BTF-typed ones work (tests).
	Raw bool
}

// Probe is the loaded, attached probes. Close detaches them.
type Probe struct {
	objs  probesObjects
	links []link.Link
	mode  string
	ring  *ringbuf.Reader

	closeOnce sync.Once
}

// Load loads and attaches the probes.
func Load(o Options) (*Probe, error) {
	if _, err := os.Stat(kernelBTF); err != nil {
		return nil, fmt.Errorf("%w: the kernel has no BTF (%v); the programs need it to read kernel structures", ErrUnavailable, err)
	}
	nargs, err := IssueArgs()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("%w: lift the locked-memory limit: %v", ErrUnavailable, err)
	}
	spec, err := loadProbes()
	if err != nil {
		return nil, fmt.Errorf("%w: the embedded programs: %v", ErrUnavailable, err)
	}
	if err := spec.Variables["filter"].Set(uint32(min(len(o.Devices), 1))); err != nil {
		return nil, fmt.Errorf("biolat: set filter: %w", err)
	}
	if err := spec.Variables["slow_ns"].Set(uint64(max(o.Slow, 0))); err != nil {
		return nil, fmt.Errorf("biolat: set slow_ns: %w", err)
	}
	// Keep only the programs this kernel takes: one kind of attachment,
	// the issue and insert programs of its argument count.
	kind := "btf"
	if o.Raw || !tracingSupported() {
		kind = "raw"
	}
	q := ""
	if nargs == 2 {
		q = "_q"
	}
	keep := map[string]bool{kind + "_insert" + q: true, kind + "_issue" + q: true, kind + "_complete": true}
	for name := range spec.Programs {
		if !keep[name] {
			delete(spec.Programs, name)
		}
	}
	p := &Probe{mode: fmt.Sprintf("%s tracepoints; block_rq_issue takes %d argument(s) (kernel BTF)", map[string]string{"btf": "BTF-typed (tp_btf)", "raw": "raw"}[kind], nargs)}
	var progs struct {
		Insert   *ebpf.Program
		Issue    *ebpf.Program
		Complete *ebpf.Program
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: load: %v", ErrUnavailable, err)
	}
	progs.Insert, progs.Issue, progs.Complete = coll.Programs[kind+"_insert"+q], coll.Programs[kind+"_issue"+q], coll.Programs[kind+"_complete"]
	p.objs.Hist, p.objs.Inflight, p.objs.Drives, p.objs.Slow = coll.Maps["hist"], coll.Maps["inflight"], coll.Maps["drives"], coll.Maps["slow"]
	p.objs.Issued, p.objs.Inserted = coll.Maps["issued"], coll.Maps["inserted"]
	// The collection's programs are closed with it; the maps stay ours.
	defer func() {
		for _, prog := range coll.Programs {
			prog.Close()
		}
	}()
	for _, d := range o.Devices {
		if err := p.objs.Drives.Put(d, uint8(1)); err != nil {
			p.closeMaps()
			return nil, fmt.Errorf("biolat: filter drive %s: %w", DevString(d), err)
		}
	}
	for _, a := range []struct {
		tp   string
		prog *ebpf.Program
	}{{"block_rq_insert", progs.Insert}, {"block_rq_issue", progs.Issue}, {"block_rq_complete", progs.Complete}} {
		var l link.Link
		if kind == "btf" {
			l, err = link.AttachTracing(link.TracingOptions{Program: a.prog})
		} else {
			l, err = link.AttachRawTracepoint(link.RawTracepointOptions{Name: a.tp, Program: a.prog})
		}
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%w: attach to %s: %v", ErrUnavailable, a.tp, err)
		}
		p.links = append(p.links, l)
	}
	if o.Slow > 0 {
		if p.ring, err = ringbuf.NewReader(p.objs.Slow); err != nil {
			p.Close()
			return nil, fmt.Errorf("biolat: slow-IO ring: %w", err)
		}
	}
	return p, nil
}

// IssueArgs reads from the kernel's BTF how many arguments the
// block_rq_issue tracepoint passes (1 since Linux 5.11, 2 before).
func IssueArgs() (int, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return 0, fmt.Errorf("kernel BTF: %w", err)
	}
	return tracepointArgs(spec, "block_rq_issue")
}

// tracepointArgs counts the arguments of a tracepoint from the typedef
// btf_trace_NAME, a pointer to a function whose first parameter is the
// tracepoint's context.
func tracepointArgs(spec *btf.Spec, name string) (int, error) {
	t, err := spec.AnyTypeByName("btf_trace_" + name)
	if err != nil {
		return 0, fmt.Errorf("tracepoint %s in the kernel BTF: %w", name, err)
	}
	td, ok := t.(*btf.Typedef)
	if !ok {
		return 0, fmt.Errorf("btf_trace_%s is a %T, not a typedef", name, t)
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return 0, fmt.Errorf("btf_trace_%s is not a function pointer", name)
	}
	fp, ok := ptr.Target.(*btf.FuncProto)
	if !ok || len(fp.Params) < 1 {
		return 0, fmt.Errorf("btf_trace_%s is not a function pointer with a context", name)
	}
	return len(fp.Params) - 1, nil
}

// tracingSupported reports whether the kernel loads tp_btf programs.
func tracingSupported() bool {
	spec, err := btf.LoadKernelSpec()
	return err == nil && spec != nil
}

// Mode says how the probes are attached.
func (p *Probe) Mode() string { return p.mode }

// Close detaches the probes and frees their maps.
func (p *Probe) Close() error {
	p.closeOnce.Do(func() {
		for _, l := range p.links {
			l.Close()
		}
		if p.ring != nil {
			p.ring.Close()
		}
		p.closeMaps()
	})
	return nil
}

func (p *Probe) closeMaps() {
	for _, m := range []*ebpf.Map{p.objs.Hist, p.objs.Inflight, p.objs.Drives, p.objs.Slow, p.objs.Issued, p.objs.Inserted} {
		if m != nil {
			m.Close()
		}
	}
}
