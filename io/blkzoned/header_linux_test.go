package blkzoned

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// kernelHeader is where Debian's linux-libc-dev installs the header.
const kernelHeader = "/usr/include/linux/blkzoned.h"

// cCompiler returns the command that compiles C: $CC when set (it may carry
// flags, as in "gcc -m32"), else cc or gcc from PATH.
func cCompiler() ([]string, bool) {
	if cc := strings.Fields(os.Getenv("CC")); len(cc) > 0 {
		if _, err := exec.LookPath(cc[0]); err == nil {
			return cc, true
		}
	}
	for _, name := range []string{"cc", "gcc"} {
		if _, err := exec.LookPath(name); err == nil {
			return []string{name}, true
		}
	}
	return nil, false
}

// TestFactsAgainstKernelHeader compiles a C program that prints every fact
// as the installed <linux/blkzoned.h> defines it and compares. The literal
// values in facts() could be copied wrong; the header is the authority.
func TestFactsAgainstKernelHeader(t *testing.T) {
	cc, ok := cCompiler()
	if !ok {
		t.Skip("no C compiler (cc or gcc) on PATH to read the kernel header with: install the Debian package gcc")
	}
	if _, err := os.Stat(kernelHeader); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("no %s: install the Debian package linux-libc-dev", kernelHeader)
	} else if err != nil {
		t.Fatal(err)
	}

	all := facts()
	var src strings.Builder
	src.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <linux/blkzoned.h>\n\nint main(void)\n{\n")
	for _, f := range all {
		fmt.Fprintf(&src, "\tprintf(\"%%llu\\n\", (unsigned long long)(%s));\n", f.c)
	}
	src.WriteString("\treturn 0;\n}\n")

	dir := t.TempDir()
	cfile, prog := filepath.Join(dir, "facts.c"), filepath.Join(dir, "facts")
	if err := os.WriteFile(cfile, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, cc[1:]...), "-Wall", "-o", prog, cfile)
	if out, err := exec.CommandContext(t.Context(), cc[0], args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s\nprogram:\n%s", cc[0], strings.Join(args, " "), err, out, src.String())
	}
	out, err := exec.CommandContext(t.Context(), prog).Output()
	if err != nil {
		t.Fatalf("running the compiled program: %v", err)
	}

	lines := strings.Fields(string(out))
	if len(lines) != len(all) {
		t.Fatalf("the C program printed %d numbers for %d facts:\n%s", len(lines), len(all), out)
	}
	for i, f := range all {
		kernel, err := strconv.ParseUint(lines[i], 10, 64)
		if err != nil {
			t.Fatalf("%s: the C program printed %q", f.c, lines[i])
		}
		if f.got != kernel {
			t.Errorf("%s: this package has %d (%#x), <linux/blkzoned.h> %d (%#x)", f.c, f.got, f.got, kernel, kernel)
		}
	}
	t.Logf("%d sizes, offsets, request numbers and enum values agree with %s (compiled by %s)", len(all), kernelHeader, cc[0])
}
