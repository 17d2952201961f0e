package hw

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/plinth-storage/plinth/hw/enclosure"
	"github.com/plinth-storage/plinth/io/dev"
)

// jsonDrive is the JSON form of a Drive. The field names are part of
// Plinth's interface: add fields, never rename or remove one.
type jsonDrive struct {
	Name              string   `json:"name"`
	Path              string   `json:"path"`
	Model             string   `json:"model"`
	Serial            string   `json:"serial"`
	WWN               string   `json:"wwn"`
	Transport         string   `json:"transport"`
	SizeBytes         int64    `json:"size_bytes"`
	Rotational        bool     `json:"rotational"`
	Zoned             string   `json:"zoned"`
	ZoneSizeBytes     int64    `json:"zone_size_bytes"`
	NrZones           int      `json:"nr_zones"`
	MaxOpenZones      int      `json:"max_open_zones"`
	MaxActiveZones    int      `json:"max_active_zones"`
	LogicalBlockSize  int      `json:"logical_block_size"`
	PhysicalBlockSize int      `json:"physical_block_size"`
	OptimalIOSize     int      `json:"optimal_io_size"`
	PlinthNode        string   `json:"plinth_node"`
	PlinthDrive       string   `json:"plinth_drive,omitempty"`
	PlinthPosition    *int     `json:"plinth_position,omitempty"`
	Usable            bool     `json:"usable"`
	Refused           []string `json:"refused"`
	Enclosure         *jsonLoc `json:"enclosure,omitempty"`
}

// jsonLoc is a drive's enclosure slot (WriteJSONWithSlots).
type jsonLoc struct {
	ID     string `json:"id"`
	Drawer int    `json:"drawer"`
	Slot   int    `json:"slot"`
	Name   string `json:"name"`
}

// WriteJSON writes drives as an indented JSON array. Each drive is an object
// with the fields
//
//	name, path, model, serial, wwn, transport   strings ("" unknown)
//	size_bytes                                  number
//	rotational                                  bool
//	zoned                                       "none", "host-aware", "host-managed"
//	zone_size_bytes, nr_zones                   numbers, 0 when not zoned
//	max_open_zones, max_active_zones            numbers, 0 when not zoned or no limit
//	logical_block_size, physical_block_size     numbers, bytes
//	optimal_io_size                             number, bytes, 0 when not reported
//	plinth_node                                 string, node UUID, "" when not labelled
//	plinth_drive                                string, drive UUID, only when labelled
//	plinth_position                             number, 0-based, only when labelled
//	usable                                      bool
//	refused                                     array of strings, [] when usable
//	enclosure                                   object, only from WriteJSONWithSlots
//	                                            and for a drive in a slot: id (string),
//	                                            drawer (number, 1-based, 0 = none),
//	                                            slot (number), name (string)
//
// These names are stable.
func WriteJSON(w io.Writer, drives []Drive) error {
	return WriteJSONWithSlots(w, drives, nil)
}

// WriteJSONWithSlots is WriteJSON with each drive's enclosure slot, from
// slots (EnclosureSlots), as its enclosure object.
func WriteJSONWithSlots(w io.Writer, drives []Drive, slots map[string]enclosure.Location) error {
	out := make([]locatedDrive, 0, len(drives))
	for _, d := range drives {
		ld := locatedDrive{d: d}
		if l, ok := slots[d.Name]; ok {
			ld.at = &jsonLoc{ID: l.Enclosure, Drawer: l.Drawer, Slot: l.Slot, Name: l.Name}
		}
		out = append(out, ld)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write drive inventory as JSON: %w", err)
	}
	return nil
}

// MarshalJSON encodes d in the format WriteJSON documents.
func (d Drive) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.toJSON())
}

// locatedDrive is a drive with its enclosure slot, if any.
type locatedDrive struct {
	d  Drive
	at *jsonLoc
}

func (ld locatedDrive) MarshalJSON() ([]byte, error) {
	j := ld.d.toJSON()
	j.Enclosure = ld.at
	return json.Marshal(j)
}

func (d Drive) toJSON() jsonDrive {
	refused := d.Refused
	if refused == nil {
		refused = []string{}
	}
	var pos *int
	if d.PlinthDrive != "" {
		pos = &d.PlinthPosition
	}
	return jsonDrive{
		Name: d.Name, Path: d.Path,
		Model: d.Model, Serial: d.Serial, WWN: d.WWN, Transport: d.Transport,
		SizeBytes: d.Size, Rotational: d.Rotational,
		Zoned: d.Zoned.String(), ZoneSizeBytes: d.ZoneSize, NrZones: d.NrZones,
		MaxOpenZones: d.MaxOpenZones, MaxActiveZones: d.MaxActiveZones,
		LogicalBlockSize: d.LogicalBlockSize, PhysicalBlockSize: d.PhysicalBlockSize,
		OptimalIOSize: d.OptimalIOSize,
		PlinthNode:    d.PlinthNode, PlinthDrive: d.PlinthDrive, PlinthPosition: pos,
		Usable: d.Usable(), Refused: refused,
	}
}

// UnmarshalJSON decodes the format WriteJSON documents; usable is derived
// from refused and ignored, and so is enclosure.
func (d *Drive) UnmarshalJSON(b []byte) error {
	var j jsonDrive
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	zoned, err := dev.ParseZoneModel(j.Zoned)
	if err != nil {
		return fmt.Errorf("drive %q: %w", j.Name, err)
	}
	var refused []string
	if len(j.Refused) > 0 {
		refused = j.Refused
	}
	var pos int
	if j.PlinthPosition != nil {
		pos = *j.PlinthPosition
	}
	*d = Drive{
		Name: j.Name, Path: j.Path,
		Model: j.Model, Serial: j.Serial, WWN: j.WWN, Transport: j.Transport,
		Size: j.SizeBytes, Rotational: j.Rotational,
		Zoned: zoned, ZoneSize: j.ZoneSizeBytes, NrZones: j.NrZones,
		MaxOpenZones: j.MaxOpenZones, MaxActiveZones: j.MaxActiveZones,
		LogicalBlockSize: j.LogicalBlockSize, PhysicalBlockSize: j.PhysicalBlockSize,
		OptimalIOSize: j.OptimalIOSize,
		PlinthNode:    j.PlinthNode, PlinthDrive: j.PlinthDrive, PlinthPosition: pos,
		Refused: refused,
	}
	return nil
}
