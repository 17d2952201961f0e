// Package console is the node's support console (run-time instruments):
// a JSON-line protocol through which support engineers and their scripts
// look inside a running node and fix it without taking it down, its
// server (started by package appliance/server inside `plinth serve`) and
// its client (used by `plinth console`).
//
// # Access
//
// The server listens on a unix socket in the data directory,
// DATA/console.sock, mode 0600 (made in a private directory and renamed
// into place, so never reachable with looser permissions), and checks
// every peer's credentials with SO_PEERCRED: root and the user the node
// runs as are served, anyone else gets one "forbidden" reply and the
// connection is closed (and a "console-refused" event says who tried).
// When configured ("console" in the node's configuration: listen, cert,
// key, client_ca), it also listens on TCP with mutual TLS: a client must
// present a certificate the client CA signed.
//
// The console has its own listeners and goroutines, apart from the HTTP
// API's: it answers when the API's request slots are all taken, when the
// API is paused, or when its handlers are stuck. At most 32 connections
// are served at once; each serves its requests one at a time, in order.
//
// Every command that changes the node ("mutating" in help) is recorded,
// once it ran, in the events journal (kind "console-command", source
// "console") with who ran it: "uid 1000 (alice) pid 4242" on the socket,
// the certificate's subject and serial number over TLS; the record is
// synced to disk before the reply is sent.
//
// # Protocol
//
// UTF-8 JSON, one object per line (at most MaxLine bytes), both ways. A
// request:
//
//	{"id": 1, "cmd": "object locate", "args": {"object": "photos/cat.jpg"}}
//
// id is any JSON value, echoed in the reply (optional); cmd is a command's
// name; args its arguments by name (numbers and booleans as JSON numbers
// and booleans, or as strings: "12", "true"). The reply:
//
//	{"id": 1, "ok": true, "result": {...}}
//	{"id": 1, "ok": false, "error": {"code": "not-found", "message": "..."}}
//
// A streaming command (events with follow) first sends items,
//
//	{"id": 1, "stream": {...}}
//
// (no "ok"), then its reply when it ends. {"cmd": "cancel"} cancels the
// request being run (it is answered by that request's reply, code
// "canceled" or its normal result for a stream); closing the connection's
// input cancels a stream, while other requests already sent still run.
//
// Error codes: bad-request (the line is not a request), unknown-command,
// bad-args (missing, unknown or malformed arguments), not-found (what the
// arguments name does not exist), confirm-required (below), conflict (the
// value changed since its preview), unavailable (this node cannot: no
// enclosure for the drive, ...), forbidden (the peer may not use the
// console), busy (too many connections), canceled, failed (the command ran
// and failed; the message says why).
//
// Metadata edits (btree put, btree del) take effect only with "confirm":
// true. Without it they change nothing and fail with confirm-required,
// the error carrying "preview": the EditResult they would have (the value
// now and after). The client shows it, asks, and sends the request again
// with "confirm": true and "expect" set to the preview's expect (the hex
// of the value it showed, or "absent"): the node then makes the edit only
// if the value is still that one, in one metadata transaction (a commit
// of the metadata store: atomic, and durable on the journal's mirrors when
// the reply comes), holding every other commit off while it compares.
//
// help lists every command with its arguments (name, type, positional,
// required, choices, what completes it), whether it mutates, confirms or
// streams, and the name of its result shape; testdata/help.golden.json
// is that list, and a change to it is a change of the protocol.
//
// # Command lines
//
// The client (and ParseLine) reads commands as people type them: the
// command's name (one or two words), then arguments, positional in order
// or NAME=VALUE, a boolean by its name alone ("follow"); words split as a
// shell splits them (quotes, backslash), "--" makes the rest positional,
// ';' separates commands. Keys and values (type bytes) are text, or
// "hex:0001ff", or "b64:AAH/".
//
// # Commands and their results
//
// Field names are the JSON's; durations are in microseconds (_us) or
// strings ("1.5s"); times RFC 3339; sizes in bytes. Fields are only ever
// added.
//
//	help              HelpResult {protocol, commands: [Command]}
//	whoami            WhoamiResult {peer, node}
//	status            StatusResult {time, node: the /v1/status "node"
//	                  document, api: APIState {pause, running, queued, held,
//	                  limits, oldest_age}}
//	drives            [DriveInfo {position, path, slot?: Slot {enclosure,
//	                  slot, drawer, name, label}, pool, state, sets,
//	                  rebuilding, changed, by, zoned, bytes, latency?:
//	                  {read, write: OpSummary {count, bytes, errors,
//	                  in_flight, p50_us, p99_us, mean_us}, stalled_us}}]
//	pools             [PoolInfo {name, layout, drives: [{position, state,
//	                  free_segments, data_segments, open_sets}], stats,
//	                  repair_queue, space: pool.FSStat, cleaner}]
//	fsstat            appliance.NodeFSStat {pools: [pool.FSStat], total}
//	buckets           [{name, pool, created}]
//	events            EventsResult {events: [events.Event], last,
//	                  followed}; args kind (comma separated), severity
//	                  (at least), since (RFC 3339 or "1h" ago), pool,
//	                  drive, after (sequence), limit, follow
//	object locate     LocateObjectResult {bucket, key, pool, owner, state
//	                  ("data", "tombstone"), version, size, attr_bytes,
//	                  tombstone?, pending, extents: [{offset, length,
//	                  version, checksum, set, set_state, stream_offset,
//	                  record_bytes, stripe, members: [UnitLocation {member,
//	                  role, drive, path, segment, generation, holds_record,
//	                  byte_offset, bytes, lba, lba_count,
//	                  logical_block_size, missing}]}], more, next}
//	set show          pool.SetInfo {pool, id, layout, unit, state, created,
//	                  sealed, capacity, frontier, live, stripe_bytes,
//	                  stripes_written, members: [{member, role, drive,
//	                  path, drive_state, segment, generation, byte_offset,
//	                  lba, logical_block_size, missing}], replacing,
//	                  repair_queue}
//	segment show      pool.SegmentInfo {pool, drive, path, index, state,
//	                  generation, set, member, live, changed, byte_offset,
//	                  capacity, lba, lba_count, logical_block_size, zone,
//	                  write_pointer}
//	btree list        [TreeInfo {name, id, comparator, height, leaves,
//	                  internal, entries, bytes}]
//	btree dump        NodeResult {tree, tree_id, path ("root/0/3"), level,
//	                  leaf, on_media, addr?: {segment, offset, length,
//	                  checksum, generation}, size, entries: [{key, value:
//	                  Bytes {len, text, hex}, decoded}], children: [{index,
//	                  path, key, in_memory, addr}]}
//	btree get         GetResult {tree, key, found, value, decoded}
//	btree put, del    EditResult {tree, key, op, old, old_decoded, new,
//	                  new_decoded, expect, applied, lsn}
//	requests          RequestsResult {api: APIState, requests: [{id, state
//	                  ("running", "queued", "held"), method, path, op,
//	                  client, start, age, age_us}]}
//	pause, resume     api.PauseState {paused, since, until, by, reject_new,
//	                  hold_in_flight, held, last_resume, last_resume_why}
//	repair stripe     pool.StripeRepair {pool, set, stripe, missing,
//	                  corrupt, rebuilt, sound, verify_error, rewritten,
//	                  moved_bytes, dequeued}
//	repair object     RepairObjectResult {bucket, key, pool, stripes:
//	                  [pool.StripeRepair], damaged, rewritten}
//	drive out|in|fail DriveStateResult {drive, path, from, state}
//	drive locate      LocateResult {drive, path, led, slot}
//	scrub start|stop|status
//	                  ScrubResult {started, stopped, was_running, halted,
//	                  pools: the /v1/status "scrub" list}
//	rebuild status    RebuildResult {pools: the /v1/status "rebuild" list}
//	cleaner status    [CleanerState {pool, active, set, reason,
//	                  last_error, sets_cleaned, bytes_relocated,
//	                  sets_released, reclaimable_bytes, candidates: [{set,
//	                  live, capacity, utilization, age_s, score}]}]
//	latency           [DriveLatency {position, path, stalled_us, ops:
//	                  {"read", "write" (and "flush", "other" with
//	                  ops=all): OpSummary + buckets: [{upper_us, count}]}}]
//	support-bundle    BundleResult {name, bytes, sha256, files, data
//	                  (base64 tar.gz)}
//
// Decoded entries (btree dump, get, put, del) are given for the trees the
// console knows: a pool's heads, extents, repair and pending trees, the
// buckets tree, and the server's node/drives, node/scrub and node/clock.
//
// The support bundle holds manifest.json, config.json (the configuration,
// every field named key, token, secret, password or credential, or ending
// in _key, _token... removed), status.json, drives.json, pools.json,
// fsstat.json, histograms.json and latency.txt, metadata.json (the store's
// statistics and space) and trees.json, scrub.json, rebuild.json,
// requests.json, events.jsonl (the newest 10000 events) with
// events-stats.json, and logs.txt (the node's last 2000 log lines, kept in
// memory by LogRing).
//
// # What repairs do
//
// repair stripe reads a whole stripe, data and parity, and checks both
// (datalog's VerifyStripe); a damaged stripe (or any, with force) has its
// live records read (through parity where a unit is bad) and rewritten in
// the cleaner's set, the index switched to the copies in one commit, and
// leaves the repair queue: the damaged units then hold nothing live, and
// the set's space comes back when the cleaner takes it. repair object does
// that for every stripe holding a record of the object's current version.
//
// # Enclosures
//
// drives shows a drive's enclosure slot and drive locate drives its
// locate LED through Node.Enclosure (the server's is package
// hw/enclosure, the kernel's SES driver); a drive in no known enclosure
// (an emulated drive, a machine without SES) gets "unavailable" with a
// message saying so.
package console
