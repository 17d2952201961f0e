package images

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ModulePath is the Go module of Plinth's source tree.
const ModulePath = "github.com/plinth-storage/plinth"

// DefaultArch is the architecture of the plinth binary: the nodes run
// Debian's amd64 kernel.
const DefaultArch = "amd64"

// BuildBinary builds plinth from the module source directory source into
// out, reproducibly: the same source, Go toolchain, version and epoch give
// the same bytes wherever it is built (-trimpath, no VCS stamping, no build
// id, no symbol table; the build time is SOURCE_DATE_EPOCH). The binary is
// static (CGO_ENABLED=0) and checked to be.
func BuildBinary(ctx context.Context, source, out, version string, epoch int64, arch string, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	if arch == "" {
		arch = DefaultArch
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building plinth needs the go command on PATH (or give a prebuilt binary): %w", err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.buildTime=%s", version, buildTime(epoch))
	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", abs, ".")
	cmd.Dir = source
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	fmt.Fprintf(progress, "building plinth %s (%s) from %s\n", version, arch, source)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build in %s: %w\n%s", source, err, strings.TrimSpace(output.String()))
	}
	fmt.Fprintf(progress, "built plinth in %s\n", time.Since(start).Round(time.Second))
	return checkStatic(abs, arch)
}

// buildTime is main.buildTime of a build at epoch: RFC 3339 in UTC.
func buildTime(epoch int64) string {
	return time.Unix(epoch, 0).UTC().Format(time.RFC3339)
}

// elfMachines are the ELF machines of the architectures nodes may run.
var elfMachines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64,
	"arm64": elf.EM_AARCH64,
}

// checkStatic makes sure path is a static ELF executable for arch: no
// program interpreter and no dynamic section, so it runs as the first
// process of an initramfs that has no libc.
func checkStatic(path, arch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %s is not an ELF executable: %v", ErrNotStatic, path, err)
	}
	defer f.Close()
	if want, ok := elfMachines[arch]; !ok {
		return fmt.Errorf("architecture %q: plinth builds for amd64 or arm64", arch)
	} else if f.Machine != want {
		return fmt.Errorf("%w: %s is for %s, the node is %s (%s)", ErrNotStatic, path, f.Machine, arch, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return fmt.Errorf("%w: %s is dynamically linked (%s): build it with CGO_ENABLED=0", ErrNotStatic, path, p.Type)
		}
	}
	if f.Type != elf.ET_EXEC {
		return fmt.Errorf("%w: %s is an ELF %s, not an executable (build with CGO_ENABLED=0 and no -buildmode)", ErrNotStatic, path, f.Type)
	}
	return nil
}

// binaryInfo is what a Go binary says about its build: the toolchain and,
// when it was stamped, the VCS revision.
func binaryInfo(path string) (goVersion, revision string, err error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", "", fmt.Errorf("%s: not a Go binary with build information: %w", path, err)
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision != "" && modified {
		revision += "-dirty"
	}
	return info.GoVersion, revision, nil
}

// GitRevision is the commit checked out in dir, with "-dirty" when the
// tree has changes; "" when dir is not in a git checkout or git is missing.
func GitRevision(ctx context.Context, dir string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(status)) > 0 {
		rev += "-dirty"
	}
	return rev
}

// GitCommitTime is the commit time of the commit checked out in dir: the
// default SOURCE_DATE_EPOCH.
func GitCommitTime(ctx context.Context, dir string) (int64, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "log", "-1", "--format=%ct").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return 0, fmt.Errorf("git log in %s: %w: %s", dir, err, bytes.TrimSpace(ee.Stderr))
		}
		return 0, fmt.Errorf("git log in %s: %w", dir, err)
	}
	t, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("git log in %s: commit time %q: %w", dir, out, err)
	}
	return t, nil
}

// FindModuleRoot walks up from dir to the root of Plinth's source tree (the
// go.mod of ModulePath), or returns "" when dir is not inside one.
func FindModuleRoot(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			for l := range strings.Lines(string(data)) {
				if f := strings.Fields(l); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
					return dir
				}
			}
			return "" // another module: not inside plinth's
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
