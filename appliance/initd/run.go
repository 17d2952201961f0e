package initd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/plinth-storage/plinth/hw"
)

// Files init reads.
const (
	CmdlineFile = "/proc/cmdline"
	ConfigFile  = "/etc/plinth/config.json" // serve's configuration, when present
	TokenFile   = "/etc/plinth/token"       // the API token, copied to DataDir
	// FirmwareKeyFile is the public key firmware bundles are signed with,
	// when the image holds it: serve then installs bundles sent to its API
	// into the firmware slots (--firmware-key, with --slots).
	FirmwareKeyFile = "/etc/plinth/firmware.pub"
)

// Timeouts of the shutdown.
const (
	// ServeStopTimeout is how long serve gets to drain and checkpoint.
	ServeStopTimeout = 60 * time.Second
	// StepStopTimeout is how long another step (the plinth.run hook, fsck,
	// a format under way) gets to end after a shutdown signal.
	StepStopTimeout = 30 * time.Second
)

// childPath is the PATH of init's children: the kernel gives init none.
const childPath = "/bin:/sbin:/usr/bin:/usr/sbin"

// Config is what the plinth command gives Run.
type Config struct {
	// Out is the console: init's log, and its children's output through it.
	Out *os.File
	// Version is plinth's version, for the first line of the log.
	Version string
	// Self is the plinth binary the children run ("/proc/self/exe").
	Self string
	// Format formats drives as one new node and returns the node's UUID;
	// progress gets a line per step.
	Format func(drives []hw.Drive, progress io.Writer) (node string, err error)
	// MarkGood marks the booted firmware slot in slotsDir good and says
	// what it did (nil: the image cannot; plinth.slots is then logged and
	// ignored). slotsDir is plinth.slots's directory, or where init
	// mounted plinth.slots's partition (SlotsMount).
	MarkGood func(slotsDir string) (what string, err error)
}

// initProc is PID 1's state, shared by the boot goroutine (boot, then
// serve's supervision) and the main goroutine (signals, shutdown).
type initProc struct {
	cfg    Config
	log    *Log
	reaper *Reaper
	env    []string

	mu       sync.Mutex
	params   Params
	drives   []string // the node's drives, once known (fsck at shutdown)
	current  *proc    // the child a shutdown must stop first, if any
	stopping bool
	stop     chan struct{} // closed when the shutdown begins

	// slotsMu guards slots and serialises marking a slot good with the
	// unmount of the slots partition at shutdown.
	slotsMu sync.Mutex
	slots   slots
}

// proc is a running child and the copying of its output.
type proc struct {
	name   string
	child  *Child
	copied chan struct{}
}

// wait waits for the child, then (up to 2 s: a grandchild may hold the
// pipe) for the last of its output to reach the console.
func (p *proc) wait() unix.WaitStatus {
	ws := p.child.Wait()
	select {
	case <-p.copied:
	case <-time.After(2 * time.Second):
	}
	return ws
}

// Run is PID 1. It never returns: it boots, serves, and on a shutdown
// signal stops everything and reboots or powers off. A failure is logged
// with what to do, and init goes on as far as makes sense, then waits for
// a shutdown signal.
func Run(cfg Config) {
	ip := &initProc{cfg: cfg, log: NewLog(cfg.Out, nil), stop: make(chan struct{})}
	ip.env = []string{"PATH=" + childPath, "HOME=/", "TERM=linux"}
	os.Setenv("PATH", childPath)
	// Signals first: a shutdown signal may come at any time, and PID 1
	// only receives the signals it handles.
	shutdown := make(chan os.Signal, 4)
	signal.Notify(shutdown, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2, syscall.SIGPWR)
	sigchld := make(chan os.Signal, 1)
	signal.Notify(sigchld, syscall.SIGCHLD)
	ip.reaper = NewReaper(func(pid int, ws unix.WaitStatus) {
		ip.log.Printf("reaped orphan pid %d (%s)", pid, ExitString(ws))
	})
	go func() {
		for range sigchld {
			ip.guard("reaper", ip.reaper.Reap)
		}
	}()
	var sig os.Signal
	func() {
		defer func() {
			if r := recover(); r != nil {
				ip.log.Printf("INTERNAL ERROR in init: %v\n%s", r, debug.Stack())
				ip.log.Printf("please report this log")
				if sig == nil {
					ip.log.Printf("init cannot go on; waiting for a shutdown signal (Ctrl-Alt-Del or kill -TERM 1 reboots, kill -USR2 1 powers off)")
					sig = <-shutdown
				}
			}
		}()
		booted := make(chan struct{})
		go func() {
			defer close(booted)
			ip.guard("boot", ip.boot)
		}()
		sig = <-shutdown
		ip.shutdown(sig, booted)
	}()
	ip.finish(sig)
}

// guard runs f, turning a panic into a log line: PID 1 must not die.
func (ip *initProc) guard(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			ip.log.Printf("INTERNAL ERROR in %s: %v\n%s", what, r, debug.Stack())
			ip.log.Printf("%s stopped; init waits for a shutdown signal (Ctrl-Alt-Del or kill -TERM 1 reboots, kill -USR2 1 powers off); please report this log", what)
		}
	}()
	f()
}

// boot runs steps 1 to 9, then supervises serve until a shutdown.
func (ip *initProc) boot() {
	log := ip.log
	log.Printf("plinth %s starting as init (pid %d)", ip.cfg.Version, os.Getpid())
	// Ctrl-Alt-Del becomes SIGINT for PID 1 instead of an immediate reboot.
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF); err != nil {
		log.Printf("Ctrl-Alt-Del stays an immediate reboot: reboot(CAD_OFF): %v", err)
	}
	ip.mount()
	params := ip.readParams()
	// A shutdown signal ends the boot between steps (and stops the
	// child of the step under way).
	steps := []func(){
		ip.loadModules,
		func() { ip.settle(params) },
		func() { ip.mountSlots(params) },
		func() { ip.watchPowerButtons(func() { _ = unix.Kill(os.Getpid(), unix.SIGPWR) }) },
		func() { ip.network(params) },
		func() {
			if params.Run != nil {
				ip.runHook(params.Run)
			}
		},
	}
	for _, step := range steps {
		if ip.isStopping() {
			return
		}
		step()
	}
	if ip.isStopping() {
		return
	}
	plan, ok := ip.planDrives(params)
	if !ok || ip.isStopping() {
		return
	}
	if params.FsckAtBoot {
		code, ran := ip.fsck("boot", false)
		if ip.isStopping() {
			return
		}
		switch {
		case ran && code == 4:
			log.Printf("not starting serve: fsck left errors uncorrected. To repair, boot once with plinth.run=\"/bin/plinth fsck --repair --yes %s\" (or run plinth fsck --repair on these drives from a rescue system), then boot again", strings.Join(ip.nodeDrives(), " "))
			return
		case ran && code > 4:
			log.Printf("not starting serve: fsck could not check the drives (exit %d; its messages above say why: a drive missing, unreadable or in use?). Fix that and reboot, or boot without plinth.fsck=boot", code)
			return
		}
	}
	ip.copyToken()
	ip.superviseServe(plan)
}

// mount is step 1.
func (ip *initProc) mount() {
	for _, m := range BootMounts {
		if err := m.Do(); err != nil {
			ip.log.Printf("%v; the boot goes on, but what needs %s will fail", err, m.Target)
			continue
		}
		if m.Target == "/dev" {
			ip.ensureConsole()
		}
	}
	ip.log.Printf("mounted /proc, /sys, /dev, /run, /tmp and %s (tmpfs: its token, events and console socket do not survive a reboot)", DataDir)
}

// ensureConsole gives init a console when the kernel could not open
// /dev/console for it (no such node in the image): stdin, stdout and
// stderr become the devtmpfs one.
func (ip *initProc) ensureConsole() {
	var st unix.Stat_t
	if unix.Fstat(1, &st) == nil {
		return
	}
	fd, err := unix.Open("/dev/console", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return // nowhere to say so
	}
	for _, target := range []int{0, 1, 2} {
		_ = unix.Dup3(fd, target, 0)
	}
	unix.Close(fd)
}

// readParams is step 2.
func (ip *initProc) readParams() Params {
	b, err := os.ReadFile(CmdlineFile)
	if err != nil {
		ip.log.Printf("cannot read the kernel command line (%v): using the defaults (no format, no fsck, no network)", err)
	}
	cmdline := strings.TrimSpace(string(b))
	ip.log.Printf("kernel command line: %s", cmdline)
	p, problems := ParseParams(cmdline)
	for _, e := range problems {
		ip.log.Printf("bad parameter: %v", e)
	}
	fsck := "off"
	switch {
	case p.FsckAtBoot && p.FsckAtShutdown:
		fsck = "boot,shutdown"
	case p.FsckAtBoot:
		fsck = "boot"
	case p.FsckAtShutdown:
		fsck = "shutdown"
	}
	drives := "auto"
	if p.Drives != nil {
		drives = strings.Join(p.Drives, ",")
	}
	slots := "none"
	if p.Slots != "" {
		slots = p.Slots
	}
	ip.log.Printf("parameters: format=%s drives=%s fsck=%s settle=%s slots=%s", p.Format, drives, fsck, p.Settle, slots)
	ip.mu.Lock()
	ip.params = p
	ip.mu.Unlock()
	return p
}

// loadModules is step 3.
func (ip *initProc) loadModules() {
	f, err := os.Open(ModulesFile)
	if errors.Is(err, os.ErrNotExist) {
		ip.log.Printf("no %s: no modules to load", ModulesFile)
		return
	}
	if err != nil {
		ip.log.Printf("cannot read %s: %v; drives and network whose drivers are modules will be missing", ModulesFile, err)
		return
	}
	mods, err := ParseModules(f)
	f.Close()
	if err != nil {
		ip.log.Printf("%v; no modules loaded: the image is broken, rebuild it with plinth firmware build", err)
		return
	}
	failed := 0
	for _, m := range mods {
		r := LoadModule(m)
		switch {
		case r.Err != nil:
			failed++
			ip.log.Printf("module %s failed: %v", m.Name(), r.Err)
		case r.Already:
			ip.log.Printf("module %s was already loaded", m.Name())
		default:
			params := ""
			if m.Params != "" {
				params = " " + m.Params
			}
			ip.log.Printf("loaded %s%s (%d ms)", m.Name(), params, r.Took.Milliseconds())
		}
	}
	if failed > 0 {
		ip.log.Printf("%d of %d modules failed to load: drives or network they drive will be missing (see the kernel's messages above)", failed, len(mods))
	}
}

// settle is step 4.
func (ip *initProc) settle(p Params) {
	r, err := Settle(func() ([]string, error) { return BlockDevices("/sys/block") }, SystemClock{}, SettleQuiet, p.Settle, SettlePoll)
	switch {
	case err != nil:
		ip.log.Printf("waiting for block devices: %v", err)
	case r.Settled:
		ip.log.Printf("block devices settled after %.1fs: %s", r.Waited.Seconds(), strings.Join(r.Devices, " "))
	default:
		ip.log.Printf("block devices still changing or absent after %s (plinth.settle): going on with %d: %s", p.Settle, len(r.Devices), strings.Join(r.Devices, " "))
	}
	drives, _, err := inventory()
	if err != nil {
		ip.log.Printf("drive inventory: %v", err)
		return
	}
	for _, d := range drives {
		ip.log.Printf("drive %s", DriveLine(d))
	}
}

// network is step 5.
func (ip *initProc) network(p Params) {
	if len(p.IP) == 0 {
		what := "no ip= parameter"
		if p.NetworkOff {
			what = "ip=off"
		}
		ip.log.Printf("network: %s: loopback only", what)
	}
	for _, c := range p.IP {
		ip.log.Printf("network: configuring %s", c)
	}
	if err := ConfigureNetwork(p.IP, 5*time.Second, ip.log.Printf); err != nil {
		ip.log.Printf("network: %v; the API is unreachable from outside until this is fixed (check ip= on the kernel command line)", err)
	}
}

// runHook is step 6.
func (ip *initProc) runHook(argv []string) {
	prog := argv[0]
	ip.log.Printf("run %s", strings.Join(argv, " "))
	start := time.Now()
	p, err := ip.start("run", "run: ", argv, nil, false)
	if err != nil {
		ip.log.Printf("run %s: %v", prog, err)
		return
	}
	ws := ip.finishProc(p)
	ip.log.Printf("run %s: %s (%.1fs)", prog, ExitString(ws), time.Since(start).Seconds())
}

// planDrives is step 7: find the drives, format them when asked. ok is
// false when there is nothing to serve.
func (ip *initProc) planDrives(params Params) (Plan, bool) {
	log := ip.log
	want, err := wantedNames(params.Drives)
	if err != nil {
		log.Printf("plinth.drives: %v", err)
	}
	drives, node, err := inventory()
	if err != nil {
		log.Printf("drive inventory: %v; nothing to serve. Reboot to try again", err)
		return Plan{}, false
	}
	plan := PlanDrives(drives, want, params.Format, node, ip.reservedDrives())
	for _, m := range plan.Missing {
		log.Printf("plinth.drives names %s, which is not a drive here", m)
	}
	for _, r := range plan.Reserved {
		log.Printf("not using %s: %s", r.Drive.Path, r.Reason)
	}
	for _, ig := range plan.Ignored {
		log.Printf("not using %s: %s", ig.Drive.Path, ig.Reason)
	}
	for _, c := range plan.Candidates {
		if plan.Action == Serve {
			log.Printf("%s is blank: a candidate replacement drive, left alone (plinth replace-drive takes it)", c.Path)
		}
	}
	switch plan.Action {
	case Idle:
		log.Printf("%s", plan.Reason)
		log.Printf("idle: waiting for a shutdown signal (Ctrl-Alt-Del or kill -TERM 1 reboots, kill -USR2 1 powers off)")
		return plan, false
	case Serve:
		log.Printf("node %s: serving %d drives: %s", node, len(plan.Drives), strings.Join(Paths(plan.Drives), " "))
	case Format:
		if !ip.format(&plan) {
			return plan, false
		}
	}
	ip.mu.Lock()
	ip.drives = Paths(plan.Drives)
	ip.mu.Unlock()
	return plan, true
}

// format formats plan's drives, in process: ok false when it failed.
func (ip *initProc) format(plan *Plan) bool {
	log := ip.log
	if ip.isStopping() {
		return false
	}
	log.Printf("all %d drives are blank and plinth.format=blank: formatting them into a new node: %s", len(plan.Drives), strings.Join(Paths(plan.Drives), " "))
	if ip.cfg.Format == nil {
		log.Printf("this build of init cannot format; idle")
		return false
	}
	w := log.Writer("format: ")
	node, err := ip.cfg.Format(plan.Drives, w)
	w.Close()
	if err != nil {
		log.Printf("format failed: %v. The drives may be partly formatted: check them with plinth drives, clear them (wipefs -a) and boot again with plinth.format=blank. Idle", err)
		return false
	}
	plan.Node, plan.Action = node, Serve
	log.Printf("formatted node %s on %d drives", node, len(plan.Drives))
	return true
}

// inventory lists the drives as this node sees them: the node that labels
// the most drives (ChooseNode) is this node, so its drives are usable and
// other nodes' drives refused.
func inventory() (drives []hw.Drive, node string, err error) {
	if drives, err = hw.Inventory(hw.Options{}); err != nil {
		return nil, "", err
	}
	if node = ChooseNode(drives); node == "" {
		return drives, "", nil
	}
	drives, err = hw.Inventory(hw.Options{ThisNode: node})
	return drives, node, err
}

// wantedNames turns plinth.drives into kernel names (nil for auto),
// following symlinks (/dev/disk/by-id/...).
func wantedNames(paths []string) ([]string, error) {
	if paths == nil {
		return nil, nil
	}
	names := []string{}
	var errs []error
	for _, p := range paths {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			real = p
		}
		names = append(names, filepath.Base(real))
	}
	return names, errors.Join(errs...)
}

func (ip *initProc) nodeDrives() []string {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.drives
}

func (ip *initProc) isStopping() bool {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	return ip.stopping
}

// fsck runs `plinth fsck` on the node's drives (steps 8 and 11) and logs
// its result; ran is false when it could not start. atShutdown lets it
// start once the shutdown has begun.
func (ip *initProc) fsck(when string, atShutdown bool) (code int, ran bool) {
	drives := ip.nodeDrives()
	if len(drives) == 0 {
		ip.log.Printf("fsck at %s: no drives to check", when)
		return 0, false
	}
	ip.log.Printf("fsck at %s: checking %s", when, strings.Join(drives, " "))
	p, err := ip.start("fsck", "fsck: ", append([]string{ip.cfg.Self, "fsck"}, drives...), nil, atShutdown)
	if err != nil {
		ip.log.Printf("fsck at %s: %v", when, err)
		return 0, false
	}
	ws := ip.finishProc(p)
	if !ws.Exited() {
		ip.log.Printf("fsck: %s", ExitString(ws))
		return 8, true
	}
	code = ws.ExitStatus()
	switch code {
	case 0:
		ip.log.Printf("fsck: clean (exit 0)")
	case 1:
		ip.log.Printf("fsck: errors found and corrected (exit 1)")
	case 4:
		ip.log.Printf("fsck: errors left uncorrected (exit 4): see the findings above")
	case 8:
		ip.log.Printf("fsck: could not run (exit 8): see above")
	default:
		ip.log.Printf("fsck: exit %d", code)
	}
	return code, true
}

// copyToken is the first half of step 9.
func (ip *initProc) copyToken() {
	b, err := os.ReadFile(TokenFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		ip.log.Printf("no %s: serve generates a token in %s (lost at reboot)", TokenFile, filepath.Join(DataDir, "token"))
		return
	case err != nil:
		ip.log.Printf("cannot read %s (%v): serve generates a token instead", TokenFile, err)
		return
	}
	dst := filepath.Join(DataDir, "token")
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		ip.log.Printf("cannot write %s (%v): serve generates a token instead", dst, err)
		return
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		ip.log.Printf("chmod %s: %v", dst, err)
	}
	ip.log.Printf("API token: %s copied to %s (mode 0600)", TokenFile, dst)
}

// serveArgv is serve's command line.
func (ip *initProc) serveArgv(plan Plan) []string {
	var config, key string
	if _, err := os.Stat(ConfigFile); err == nil {
		config = ConfigFile
	}
	if _, err := os.Stat(FirmwareKeyFile); err == nil {
		key = FirmwareKeyFile
	}
	ip.slotsMu.Lock()
	slotsDir := ip.slots.dir
	ip.slotsMu.Unlock()
	return ServeArgv(ip.cfg.Self, config, slotsDir, key, plan.Drives)
}

// ServeArgv is serve's command line: the plinth binary self, the data
// directory, then, each when not "", serve's configuration file, the
// firmware slots' directory (plinth.slots's directory, or where init
// mounted its partition) and the firmware public key, and the drives.
func ServeArgv(self, config, slotsDir, firmwareKey string, drives []hw.Drive) []string {
	argv := []string{self, "serve", "--data", DataDir}
	if config != "" {
		argv = append(argv, "--config", config)
	}
	if slotsDir != "" {
		argv = append(argv, "--slots", slotsDir)
	}
	if firmwareKey != "" {
		argv = append(argv, "--firmware-key", firmwareKey)
	}
	for _, d := range drives {
		argv = append(argv, "--drive", d.Path)
	}
	return argv
}

// superviseServe is the second half of step 9: serve runs, and is started
// again when it exits on its own, until a shutdown.
func (ip *initProc) superviseServe(plan Plan) {
	var restarts Restarts
	var healthy sync.Once
	argv := ip.serveArgv(plan)
	for {
		ip.log.Printf("starting serve: %s", strings.Join(argv[1:], " "))
		onLine := func(line string) {
			// cmd_serve prints this once the API listens.
			if strings.HasPrefix(line, "serving (pid ") {
				healthy.Do(func() { go ip.guard("mark-good", ip.markGood) })
			}
		}
		p, err := ip.start("serve", "serve: ", argv, onLine, false)
		if err != nil {
			if !errors.Is(err, errStopping) {
				ip.log.Printf("cannot start serve: %v. Idle", err)
			}
			return
		}
		ws := ip.finishProc(p)
		if ip.isStopping() {
			return // the shutdown logs how serve stopped
		}
		ip.log.Printf("serve exited unexpectedly: %s", ExitString(ws))
		delay, ok := restarts.Next(time.Now())
		if !ok {
			ip.log.Printf("serve failed %d times in %s: not starting it again. Read its messages above; fix what they say and reboot (Ctrl-Alt-Del or kill -TERM 1)", RestartMax+1, RestartWindow)
			return
		}
		ip.log.Printf("restarting serve in %s", delay)
		select {
		case <-time.After(delay):
		case <-ip.stop:
			return
		}
	}
}

var errStopping = errors.New("shutting down")

// start starts a child whose output is logged with prefix, and makes it
// the child a shutdown stops. It refuses once the shutdown has begun,
// unless atShutdown (the shutdown's own children).
func (ip *initProc) start(name, prefix string, argv []string, onLine func(string), atShutdown bool) (*proc, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	if ip.stopping && !atShutdown {
		return nil, errStopping
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		var err error
		if path, err = lookPath(path); err != nil {
			return nil, err
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	child, err := ip.reaper.Start(path, argv, ip.env, w)
	w.Close()
	if err != nil {
		r.Close()
		return nil, err
	}
	p := &proc{name: name, child: child, copied: make(chan struct{})}
	go func() {
		defer close(p.copied)
		ip.log.Copy(prefix, r, onLine)
		r.Close()
	}()
	ip.current = p
	return p, nil
}

// finishProc waits for p and clears it as the current child.
func (ip *initProc) finishProc(p *proc) unix.WaitStatus {
	ws := p.wait()
	ip.mu.Lock()
	if ip.current == p {
		ip.current = nil
	}
	ip.mu.Unlock()
	return ws
}

// lookPath finds a program on the children's PATH.
func lookPath(name string) (string, error) {
	for dir := range strings.SplitSeq(childPath, ":") {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s", name, childPath)
}
