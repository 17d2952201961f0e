// Package events is the node's persisted events journal: one ordered record
// of what every layer reported (pool and metadata-store events, drive state
// changes, API and node lifecycle, operators' mutating commands), kept across
// restarts so that an operator at 3 a.m. can see what happened, in order.
//
// # File format
//
// The journal is a directory holding at most two files:
//
//	events.jsonl     the current file, appended to (mode 0600)
//	events.jsonl.1   the previous file, read only
//
// Each file is UTF-8 text, one JSON object per line, each line ended by "\n".
// An object is one Event:
//
//	{"seq":42,"time":"2025-01-02T03:04:05.123456789Z","severity":"error",
//	 "kind":"drive-failed","source":"pool","pool":"p0","drive":"3",
//	 "set":17,"stripe":5,"detail":"write: input/output error","actor":"alice"}
//
//	seq       uint64, 1 for the node's first event, then +1 per event, across
//	          restarts and rotations: a gap means events were lost (a crash
//	          before their sync, or a torn tail cut off on open)
//	time      RFC 3339 with nanoseconds, when the event happened
//	severity  "info", "warning", "error" or "critical", in increasing order
//	kind      what happened, lower-case words joined by "-" ("drive-failed")
//	source    the layer that reported it: "node", "metadata", "pool", "drive",
//	          "api", "console", ...
//	pool, drive, set, stripe, actor
//	          present when they apply; drive is a drive's name or, from the
//	          pool, its position in the pool; actor is who ran the mutating
//	          console or API command
//	detail    free text for people, at most MaxDetail bytes
//
// Readers ignore fields they do not know, so fields may be added.
//
// # Rotation and repair
//
// When appending a line would take events.jsonl past Options.MaxBytes
// (16 MiB by default), events.jsonl is renamed to events.jsonl.1 (replacing
// the old one) and a new events.jsonl is started; so the journal holds the
// newest events in at most 2×MaxBytes of disk.
//
// A crash in the middle of an append can leave a torn last line, or garbage
// (zeros) after the last line. Open cuts everything after the last line that
// parses, and records a "journal-repaired" event saying how many bytes it
// cut. A line that does not parse in the middle of a file (a bit flip, a
// hand edit) is skipped by every reader and counted in Stats.BadLines, never
// a failure.
//
// # Durability
//
// Emit never waits for the disk: events go through a buffered channel to one
// writer goroutine, which writes them in batches and fdatasyncs at least
// every Options.SyncInterval (200 ms by default), and at once after an event
// of severity error or critical. When the channel is full the event is
// dropped and counted, and an "events-dropped" event with the count is written
// as soon as there is room. Sync waits until everything emitted before it is
// durable; Close drains, syncs and closes.
//
// # Severities of the adapters
//
// FromPool (source "pool") and FromStore (source "metadata") keep the layer's
// kind and map it to a severity:
//
//	pool kind            severity   store kind                 severity
//	unrecoverable        critical   read-only                  critical
//	drive-failed         error      mirror-failed              error
//	io-error             error      checkpoint-failed          error
//	write-protect        error      finish-failed              warning
//	error                error      bad-copy                   warning
//	degraded-read        warning    mirror-behind              warning
//	repair-queued        warning    checkpoint, clean          info
//	repaired             info       journal-read-only          critical
//	write-protect-off    info       journal-mirror-failed      error
//	cleaner-start/stop   info       journal-full, journal-bad-copy,
//	set-cleaned          info         journal-mirror-behind    warning
//	set-released         info       resilver-started           warning
//	rebuild-start        warning    resilver-failed            error
//	rebuild-failed       error      resilver-done              info
//	member-rebuilt       info       journal-mirror-joined      info
//	rebuild-done         info
//	member-moved         info
//	anything else        warning    anything else              warning
//
// The store reports its journal's events as kind "journal" with the journal's
// event in the detail; FromStore turns them into "journal-<kind>" (the
// journal's own "journal-full" stays as it is). Checkpoint events are frequent
// (one per checkpoint); FromStore keeps them and callers filter if they wish.
package events
