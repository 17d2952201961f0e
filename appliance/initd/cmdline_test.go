package initd

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Param
	}{
		{"", nil},
		{"   \n", nil},
		{"quiet", []Param{{Name: "quiet"}}},
		{"console=ttyS0 panic=-1\n", []Param{{"console", "ttyS0", true}, {"panic", "-1", true}}},
		{"  a=1\t\tb  ", []Param{{"a", "1", true}, {Name: "b"}}},
		// A quoted value keeps its spaces and loses its quotes.
		{`plinth.run="/test/x -test.run ^A$ -v" ip=off`, []Param{{"plinth.run", "/test/x -test.run ^A$ -v", true}, {"ip", "off", true}}},
		// A quote inside the value toggles quoting; only the leading and
		// trailing quotes of the value are removed, as the kernel does.
		{`a=x"y z"w b`, []Param{{"a", `x"y z"w`, true}, {Name: "b"}}},
		// A whole quoted parameter.
		{`"a=b c" d`, []Param{{"a", "b c", true}, {Name: "d"}}},
		{`"word"`, []Param{{Name: "word"}}},
		// The name ends at the first '='.
		{"a=b=c", []Param{{"a", "b=c", true}}},
		{"a=", []Param{{"a", "", true}}},
		{`a="`, []Param{{"a", "", true}}},
		// An unterminated quote runs to the end.
		{`a="b c`, []Param{{"a", "b c", true}}},
		// "--" is skipped; what follows is parsed too.
		{"a -- b=1", []Param{{Name: "a"}, {"b", "1", true}}},
	} {
		got := SplitCmdline(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCmdline(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseParamsDefaults(t *testing.T) {
	p, problems := ParseParams("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet")
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := Params{Settle: DefaultSettle}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, want %+v", p, want)
	}
}

func TestParseParamsAll(t *testing.T) {
	cmdline := `console=ttyS0 panic=-1 ip=10.0.2.15::10.0.2.2:255.255.255.0:node::off plinth.format=blank ` +
		`plinth.drives=/dev/vda,/dev/disk/by-id/x plinth.fsck=boot,shutdown plinth.settle=10s ` +
		`plinth.run="/test/direct.test -test.run ^TestConformanceDevices$ -test.v -conformance.devices=zoned" ` +
		`plinth.slots=/slots ip=192.168.1.5:::255.255.0.0::eth1:none`
	p, problems := ParseParams(cmdline)
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if p.Format != FormatBlank || !p.FsckAtBoot || !p.FsckAtShutdown || p.Settle != 10*time.Second || p.Slots != "/slots" {
		t.Fatalf("got %+v", p)
	}
	if want := []string{"/dev/vda", "/dev/disk/by-id/x"}; !reflect.DeepEqual(p.Drives, want) {
		t.Fatalf("drives %q, want %q", p.Drives, want)
	}
	if want := []string{"/test/direct.test", "-test.run", "^TestConformanceDevices$", "-test.v", "-conformance.devices=zoned"}; !reflect.DeepEqual(p.Run, want) {
		t.Fatalf("run %q, want %q", p.Run, want)
	}
	if len(p.IP) != 2 || p.IP[0].Prefix.String() != "10.0.2.15/24" || p.IP[0].Hostname != "node" || p.IP[1].Device != "eth1" || p.IP[1].Prefix.Bits() != 16 {
		t.Fatalf("ip %+v", p.IP)
	}
}

func TestParseParamsBadValues(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		problem string // in the one problem reported
		check   func(Params) bool
	}{
		{"plinth.format=yes", "want blank or never; using never", func(p Params) bool { return p.Format == FormatNever }},
		{"plinth.format=blank plinth.format=maybe", "using blank", func(p Params) bool { return p.Format == FormatBlank }},
		{"plinth.drives=vda", "using auto", func(p Params) bool { return p.Drives == nil }},
		{"plinth.drives=,", "using auto", func(p Params) bool { return p.Drives == nil }},
		{"plinth.fsck=always", "using off", func(p Params) bool { return !p.FsckAtBoot && !p.FsckAtShutdown }},
		{"plinth.fsck=boot,never", "using off", func(p Params) bool { return !p.FsckAtBoot && !p.FsckAtShutdown }},
		{"plinth.settle=soon", "using 3s", func(p Params) bool { return p.Settle == DefaultSettle }},
		{"plinth.settle=-1s", "using 3s", func(p Params) bool { return p.Settle == DefaultSettle }},
		{`plinth.run=""`, "want a program", func(p Params) bool { return p.Run == nil }},
		{"plinth.slots=slots", "absolute", func(p Params) bool { return p.Slots == "" }},
		{"ip=dhcp", "only static", func(p Params) bool { return len(p.IP) == 0 }},
		{"ip=10.0.2.15:::255.255.255.0:::dhcp", "only static", func(p Params) bool { return len(p.IP) == 0 }},
		{"ip=10.0.2.300", "not an IPv4 address", func(p Params) bool { return len(p.IP) == 0 }},
	} {
		p, problems := ParseParams(tc.cmdline)
		if len(problems) != 1 || !strings.Contains(problems[0].Error(), tc.problem) {
			t.Errorf("%s: problems %v, want one containing %q", tc.cmdline, problems, tc.problem)
		}
		if !tc.check(p) {
			t.Errorf("%s: got %+v", tc.cmdline, p)
		}
	}
}

func TestParseParamsLastWins(t *testing.T) {
	p, _ := ParseParams("plinth.drives=/dev/a plinth.drives=auto plinth.fsck=boot plinth.fsck=off ip=10.0.0.1 ip=off")
	if p.Drives != nil || p.FsckAtBoot || len(p.IP) != 0 || !p.NetworkOff {
		t.Fatalf("got %+v", p)
	}
	p, _ = ParseParams("ip=none ip=10.0.0.1")
	if p.NetworkOff || len(p.IP) != 1 {
		t.Fatalf("got %+v", p)
	}
}
