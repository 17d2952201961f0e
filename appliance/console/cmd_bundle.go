package console

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/appliance/events"
)

// support-bundle: one tar.gz of what support needs to look at a node
// elsewhere.

// BundleResult is support-bundle's result. Data is the tar.gz, base64;
// the client writes it to a file named Name.
type BundleResult struct {
	Name   string   `json:"name"`
	Bytes  int      `json:"bytes"`
	SHA256 string   `json:"sha256"`
	Files  []string `json:"files"`
	Data   string   `json:"data"`
}

// bundleEvents is how many of the newest events a bundle holds.
const bundleEvents = 10000

func init() {
	register(&Command{Name: "support-bundle", Summary: "one tar.gz: configuration (secrets removed), events, drives, histograms, metadata statistics, recent logs", Result: "BundleResult",
		Args: []Arg{{Name: "events", Type: "int", Help: fmt.Sprintf("how many of the newest events to include (default and at most %d)", bundleEvents)}},
		run:  runBundle})
}

func runBundle(x *call) (any, error) {
	nev, err := x.nonNegative("events")
	if err != nil {
		return nil, err
	}
	if !x.has("events") || nev > bundleEvents {
		nev = bundleEvents
	}
	now := time.Now().UTC()
	var files []bundleFile
	add := func(name string, v any) {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			b = []byte(fmt.Sprintf("{\"error\": %q}", err.Error()))
		}
		files = append(files, bundleFile{name, append(b, '\n')})
	}
	addErr := func(name string, v any, err error) {
		if err != nil {
			add(name, map[string]string{"error": err.Error()})
			return
		}
		add(name, v)
	}
	manifest := map[string]any{"node": x.node.ID, "created": now, "by": x.who, "go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		manifest["module"], manifest["version"] = bi.Main.Path, bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.time" {
				manifest[s.Key] = s.Value
			}
		}
	}
	if x.node.Config != nil {
		add("config.json", Redact(x.node.Config()))
	}
	if x.node.Status != nil {
		add("status.json", x.node.Status())
	}
	if x.node.Drives != nil {
		res, err := runDrives(x)
		addErr("drives.json", res, err)
	}
	pools, err := runPools(x)
	addErr("pools.json", pools, err)
	add("fsstat.json", appliance.FSStat(x.node.Pools))
	if x.node.Devices != nil {
		lat, err := runLatency(&call{ctx: x.ctx, cmd: commands["latency"], node: x.node, args: map[string]any{"ops": "all"}})
		addErr("histograms.json", lat, err)
		if err == nil {
			var b bytes.Buffer
			renderLatency(&b, lat.([]DriveLatency))
			files = append(files, bundleFile{"latency.txt", b.Bytes()})
		}
	}
	if x.node.Store != nil {
		add("metadata.json", map[string]any{"stats": x.node.Store.Stats(), "space": x.node.Store.Space()})
		trees, _ := runBtreeList(x)
		add("trees.json", trees)
	}
	if x.node.ScrubStatus != nil {
		add("scrub.json", scrubResult(x, ScrubResult{}))
	}
	if x.node.RebuildStatus != nil {
		add("rebuild.json", x.node.RebuildStatus())
	}
	if x.node.API != nil {
		res, _ := runRequests(&call{ctx: x.ctx, cmd: commands["requests"], node: x.node, args: map[string]any{}})
		add("requests.json", res)
	}
	if x.node.Events != nil {
		evs, err := x.node.Events.Query(events.Filter{Limit: int(nev)})
		if err != nil {
			add("events-error.json", map[string]string{"error": err.Error()})
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for _, e := range evs {
			enc.Encode(e)
		}
		files = append(files, bundleFile{"events.jsonl", b.Bytes()})
		add("events-stats.json", x.node.Events.Stats())
	}
	if x.node.Logs != nil {
		files = append(files, bundleFile{"logs.txt", []byte(strings.Join(x.node.Logs.Lines(), "\n") + "\n")})
	}
	var names []string
	for _, f := range files {
		names = append(names, f.name)
	}
	manifest["files"] = names
	add("manifest.json", manifest)
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	prefix := fmt.Sprintf("plinth-support-%s-%s", shortID(x.node.ID), now.Format("20060102T150405Z"))
	data, err := tarGz(prefix, now, files)
	if err != nil {
		return nil, fmt.Errorf("support bundle: %w", err)
	}
	sum := sha256.Sum256(data)
	res := BundleResult{Name: prefix + ".tar.gz", Bytes: len(data), SHA256: hex.EncodeToString(sum[:]), Data: base64.StdEncoding.EncodeToString(data)}
	for _, f := range files {
		res.Files = append(res.Files, prefix+"/"+f.name)
	}
	return res, nil
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	if id == "" {
		return "node"
	}
	return id
}

type bundleFile struct {
	name string
	data []byte
}

// tarGz writes the files under dir/ in a gzipped tar.
func tarGz(dir string, at time.Time, files []bundleFile) ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: dir + "/" + f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// secretWords: a field named one of them, or ending in "_" and one of
// them, is a secret.
var secretWords = []string{"key", "token", "secret", "password", "passwd", "credential", "credentials"}

// Redact returns v (marshalled to JSON and back) with the value of every
// field whose name looks like a secret's replaced by "(removed)".
func Redact(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]string{"error": err.Error()}
	}
	var m any
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]string{"error": err.Error()}
	}
	return redact(m)
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			low := strings.ToLower(k)
			secret := false
			for _, w := range secretWords {
				if low == w || strings.HasSuffix(low, "_"+w) && !strings.HasPrefix(low, "max_") {
					secret = true
				}
			}
			if secret && e != nil && e != "" {
				t[k] = "(removed)"
			} else {
				t[k] = redact(e)
			}
		}
	case []any:
		for i, e := range t {
			t[i] = redact(e)
		}
	}
	return v
}
