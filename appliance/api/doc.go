// Package api is the node's HTTP API: objects in buckets, key-value
// indexes, events, status and Prometheus metrics, behind a bearer token.
//
// Every request carries "Authorization: Bearer TOKEN"; a missing or wrong
// token gets 401 and nothing else. Data travels as raw bodies; control and
// listings as JSON. Errors are JSON:
//
//	{"error": {"code": "NoSuchKey", "message": "...", "request_id": "..."}}
//
// # Endpoints
//
//	GET    /v1/status                          node, drives, pools, space (JSON)
//	GET    /v1/events?after=SEQ&kind=K&severity=S&limit=N[&follow=1]
//	POST   /v1/scrub                           start a scrub pass of every pool
//	POST   /v1/rebuild                         rebuild (and rebalance) now, not at
//	                                           the next round
//	GET    /v1/drives                          drives: position, path, pool, state
//	POST   /v1/drives/POS?state=S              set a drive's state: online, slow,
//	                                           faulty, out (rebuilt elsewhere) or spare
//	GET    /v1/firmware                        the firmware slots: which is booted,
//	                                           active, good, to boot once
//	PUT    /v1/firmware                        install the bundle in the body into
//	                                           the inactive slot, to boot once
//	POST   /v1/firmware/reboot                 have plinth init reboot the node
//	GET    /metrics                            Prometheus exposition
//
//	GET    /v1/buckets                         list buckets
//	PUT    /v1/buckets/BUCKET                  create (409 if it exists)
//	HEAD   /v1/buckets/BUCKET                  200 or 404
//	DELETE /v1/buckets/BUCKET                  delete an empty bucket (409 if not)
//	GET    /v1/buckets/BUCKET?prefix=&delimiter=&start-after=&limit=&token=
//	                                           list objects (JSON page)
//
//	PUT    /v1/buckets/BUCKET/KEY              store the body (streamed)
//	GET    /v1/buckets/BUCKET/KEY              the object (Range, If-Match,
//	                                           If-None-Match)
//	HEAD   /v1/buckets/BUCKET/KEY              its headers
//	DELETE /v1/buckets/BUCKET/KEY              leave a tombstone
//
//	GET    /v1/kv                              list indexes
//	PUT    /v1/kv/INDEX                        create
//	DELETE /v1/kv/INDEX                        drop
//	GET    /v1/kv/INDEX?from=&prefix=&limit=   range (JSON)
//	POST   /v1/kv/INDEX                        atomic batch (JSON)
//	PUT    /v1/kv/INDEX/KEY                    set the key to the body
//	GET    /v1/kv/INDEX/KEY                    the value (raw body)
//	DELETE /v1/kv/INDEX/KEY                    leave a tombstone
//
// KEY is the rest of the path, percent-decoded: it may hold "/" and any
// UTF-8 (escape what a URL cannot carry). The router does not clean
// paths, so "a//b" and "../x" are keys like any other.
//
// # Versions
//
// A write or delete may carry "X-Plinth-Version: V" (an unsigned decimal:
// a hybrid-clock timestamp, milliseconds << 16 | counter); without it the
// node assigns one. The version applied comes back in the same header. A
// version not newer than what the key has (or its tombstone) gets 409
// with code "Superseded" and changes nothing: a replayed operation gets it
// and can count it as done.
//
// # Objects
//
// PUT takes Content-Type, Content-Length (or chunked transfer) and user
// metadata as "X-Plinth-Meta-NAME: VALUE" ("X-Amz-Meta-" also accepted).
// GET and HEAD return Content-Type, Content-Length, ETag (quoted hex of a
// HighwayHash-128 of the content, not an MD5), Last-Modified,
// X-Plinth-Version and the metadata; GET honours one "Range: bytes=..."
// range (206; 416 when it cannot be satisfied; several ranges get the
// whole object), If-Match (412) and If-None-Match (304).
//
// # Limits and back-pressure
//
// Keys, metadata, headers, values and objects have limits, each refused
// with a 4xx that names it. At most MaxConcurrent requests run at once; up
// to MaxQueue more wait up to QueueWait for a slot, and past that a
// request gets 503 with Retry-After instead of joining an unbounded queue.
//
// The support console can pause the API (Pause, Resume; see pause.go):
// new object and key-value requests are held (or refused with 503) until
// it resumes or the pause times out; Requests lists what is running,
// queued and held.
package api
