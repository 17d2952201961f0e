package hw

import (
	"reflect"
	"testing"
)

func TestReadMountInfo(t *testing.T) {
	got, err := readMountInfo(fixtureMountInfo)
	if err != nil {
		t.Fatal(err)
	}
	want := mountTable{
		"0:21":   {{"/proc", "proc"}},
		"0:22":   {{"/sys", "sysfs"}},
		"253:16": {{"/", "ext4"}},
		"8:32":   {{"/srv/data pool", "xfs"}, {"/mnt/bind", "xfs"}},
		"8:49":   {{"/boot", "ext4"}},
		"9:127":  {{"/md", "ext4"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:           "/plain",
		`/a\040b`:          "/a b",
		`/tab\011nl\012`:   "/tab\tnl\n",
		`/back\134slash`:   `/back\slash`,
		`/short\04`:        `/short\04`,
		`/not\999octal`:    `/not\999octal`,
		`/trailing\`:       `/trailing\`,
		`\040\040`:         "  ",
		`/x\0400\040`:      "/x 0 ",
		`/caf\303\251`:     "/café",
		`/unchanged\0`:     `/unchanged\0`,
		`/mixed\040\x\040`: `/mixed \x `,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
