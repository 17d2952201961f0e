package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/plinth-storage/plinth/appliance"
	"github.com/plinth-storage/plinth/stripe"
)

// DefaultListen is the API's address unless configured: loopback only.
const DefaultListen = "127.0.0.1:8350"

// Config is the node's configuration: what `plinth serve` reads from
// --config (JSON, below) and its flags. Zero values mean the defaults.
//
//	{
//	  "data_dir": "/var/lib/plinth",          // token, events, console socket; default ./plinth-data
//	  "drives": ["/dev/disk/by-id/...", ...], // none: the embedded default in data_dir
//	  "listen": "127.0.0.1:8350",
//	  "tls": {"cert": "node.crt", "key": "node.key"},
//	  "pools": [{"name": "fast", "drives": [0, 1, 2, 3, 4, 5], "layout": "4+2", "unit": 131072}],
//	  "pool_selection": "round-robin",        // or "most-free", "healthiest"
//	  "max_object_size": 5497558138880,
//	  "tombstone_horizon": "168h",
//	  "gc_interval": "10m",
//	  "scrub_interval": "168h",
//	  "rebuild_rate": 268435456,
//	  "limits": {"max_concurrent": 64, "max_queue": 256, "queue_wait": "10s",
//	             "max_header_bytes": 65536, "max_key": 900, "max_metadata": 2048},
//	  "drive_error_threshold": 10,
//	  "drive_timeout": "30s",
//	  "log_level": "info",                    // debug, info, warn, error
//	  "console": {"listen": "0.0.0.0:8351", "cert": "node.crt", "key": "node.key",
//	              "client_ca": "support-ca.crt"}, // remote console (mutual TLS)
//	  "firmware": {"slots": "/run/plinth-slots", "public_key": "/etc/plinth/firmware.pub",
//	               "max_bundle_size": 1073741824}  // updates through the API (firmware.go)
//	}
//
// Unknown fields are an error (a misspelt option must not be ignored).
type Config struct {
	DataDir          string       `json:"data_dir"`
	Drives           []string     `json:"drives"`
	Listen           string       `json:"listen"`
	TLS              *TLSConfig   `json:"tls,omitempty"`
	Pools            []PoolConfig `json:"pools,omitempty"`
	PoolSelection    string       `json:"pool_selection"`
	MaxObjectSize    int64        `json:"max_object_size"`
	TombstoneHorizon Duration     `json:"tombstone_horizon"`
	GCInterval       Duration     `json:"gc_interval"`
	// RebuildRate bounds the bytes per second a rebuild reads from the
	// surviving drives (default 256 MiB/s).
	RebuildRate int64 `json:"rebuild_rate"`
	// ScrubInterval: a scrub pass of each pool starts when the last one
	// completed longer ago than this (default 168h).
	ScrubInterval Duration     `json:"scrub_interval"`
	Limits        LimitsConfig `json:"limits"`
	// DriveErrorThreshold is how many read or write errors a data drive
	// may have within ten minutes before it is marked faulty (default 10).
	DriveErrorThreshold int `json:"drive_error_threshold"`
	// DriveTimeout: a drive with IO under way and none completing for
	// this long is marked faulty (default 30s).
	DriveTimeout Duration `json:"drive_timeout"`
	// SlowFactor: a drive whose read p99 stays above this many times its
	// pool peers' median for three windows of SlowWindow is marked slow
	// (default 3; SlowWindow default 10s, negative: no detection).
	SlowFactor float64  `json:"slow_factor"`
	SlowWindow Duration `json:"slow_window"`
	// SlowIO: block requests slower than this go to the events journal
	// from the eBPF probes (default 1s; negative: no probes).
	SlowIO   Duration `json:"slow_io"`
	LogLevel string   `json:"log_level"`
	// Console adds a remote listener (mutual TLS) to the support
	// console's unix socket in the data directory (console.go).
	Console *ConsoleConfig `json:"console,omitempty"`
	// Firmware lets the API install firmware bundles (firmware.go).
	Firmware FirmwareConfig `json:"firmware"`
}

// TLSConfig turns TLS on for the API.
type TLSConfig struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// PoolConfig is one pool: drive positions (none: all) and a layout
// "N+K" (empty: the default for its drive count).
type PoolConfig struct {
	Name   string `json:"name"`
	Drives []int  `json:"drives,omitempty"`
	Layout string `json:"layout,omitempty"`
	Unit   int    `json:"unit,omitempty"`
}

// LimitsConfig bounds requests.
type LimitsConfig struct {
	MaxConcurrent  int      `json:"max_concurrent"`
	MaxQueue       int      `json:"max_queue"`
	QueueWait      Duration `json:"queue_wait"`
	MaxHeaderBytes int      `json:"max_header_bytes"`
	MaxKey         int      `json:"max_key"`
	MaxMetadata    int      `json:"max_metadata"`
}

// Duration is a time.Duration written as "10s" in JSON.
type Duration time.Duration

// UnmarshalJSON reads "1h30m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"10s\" or \"24h\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want a positive duration such as \"10s\" or \"24h\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes "1h30m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// LoadConfig reads a configuration file.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + bytes.Count(b[:se.Offset], []byte("\n"))
			return Config{}, fmt.Errorf("config %s: line %d: %w", path, line, err)
		}
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// withDefaults fills in the defaults.
func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = appliance.DefaultDataDir
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.TombstoneHorizon == 0 {
		c.TombstoneHorizon = Duration(7 * 24 * time.Hour)
	}
	if c.GCInterval == 0 {
		c.GCInterval = Duration(10 * time.Minute)
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = Duration(7 * 24 * time.Hour)
	}
	if c.Limits.MaxHeaderBytes == 0 {
		c.Limits.MaxHeaderBytes = 64 << 10
	}
	if c.DriveErrorThreshold == 0 {
		c.DriveErrorThreshold = 10
	}
	if c.SlowIO == 0 {
		c.SlowIO = Duration(time.Second)
	}
	if c.SlowWindow == 0 {
		c.SlowWindow = Duration(10 * time.Second)
	}
	if c.DriveTimeout == 0 {
		c.DriveTimeout = Duration(30 * time.Second)
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	return c
}

// Validate checks what can be checked without the drives.
func (c Config) Validate() error {
	if _, err := c.poolSpecs(); err != nil {
		return err
	}
	switch c.PoolSelection {
	case "", "round-robin", "most-free", "healthiest":
	default:
		return fmt.Errorf("pool_selection %q: want round-robin, most-free or healthiest", c.PoolSelection)
	}
	if c.TLS != nil && (c.TLS.Cert == "" || c.TLS.Key == "") {
		return errors.New("tls: both cert and key are needed")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return err
	}
	if err := c.validateConsole(); err != nil {
		return err
	}
	if c.SlowFactor != 0 && !(c.SlowFactor > 1) {
		return fmt.Errorf("slow_factor %v: want more than 1 (how many times slower than its peers a drive must be to count as slow)", c.SlowFactor)
	}
	if err := c.Firmware.validate(); err != nil {
		return err
	}
	if c.RebuildRate < 0 || c.MaxObjectSize < 0 || c.DriveErrorThreshold < 0 || c.Limits.MaxConcurrent < 0 || c.Limits.MaxQueue < 0 || c.Limits.MaxHeaderBytes < 0 {
		return errors.New("limits and sizes must not be negative")
	}
	return nil
}

// PoolSpecs turns the pools section into specs, as serve reads them (the
// index rebuild reads serve's configuration file this way too).
func (c Config) PoolSpecs() ([]appliance.PoolSpec, error) { return c.poolSpecs() }

// poolSpecs turns the pools section into specs.
func (c Config) poolSpecs() ([]appliance.PoolSpec, error) {
	var specs []appliance.PoolSpec
	for i, p := range c.Pools {
		if err := appliance.CheckPoolName(p.Name); err != nil {
			return nil, fmt.Errorf("pools[%d]: %w", i, err)
		}
		sp := appliance.PoolSpec{Name: p.Name, Drives: p.Drives}
		if p.Layout != "" {
			n, k, ok := strings.Cut(p.Layout, "+")
			nn, err1 := strconv.Atoi(n)
			kk, err2 := strconv.Atoi(k)
			if !ok || err1 != nil || err2 != nil || nn < 1 || kk < 0 {
				return nil, fmt.Errorf("pools[%d] %q: layout %q: want N+K such as 4+2", i, p.Name, p.Layout)
			}
			sp.Layout = stripe.Layout{N: nn, K: kk, Unit: p.Unit}
		} else if p.Unit != 0 {
			return nil, fmt.Errorf("pools[%d] %q: a unit needs a layout", i, p.Name)
		}
		specs = append(specs, sp)
	}
	return specs, nil
}
