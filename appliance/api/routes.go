package api

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// handlerFunc serves one routed request.
type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request, rt routed)

// routed is where a request goes: its handler and the names in its path.
type routed struct {
	api, op   string // for metrics and logs: "objects", "get"...
	handler   handlerFunc
	unlimited bool // not counted against the request slots (status, metrics, events)
	bucket    string
	key       string
	// when handler is nil: the error to answer
	status        int
	code, message string
}

// route maps a request to its handler. It splits the escaped path itself:
// keys may hold "/", "//" and "..", which a path-cleaning router would
// redirect.
func route(r *http.Request) routed {
	p := r.URL.EscapedPath()
	m := r.Method
	notFound := routed{api: "other", op: "unknown", status: http.StatusNotFound, code: "NotFound", message: "no such endpoint (see the README for the API)"}
	bad := func(api, op string) routed {
		return routed{api: api, op: op, status: http.StatusMethodNotAllowed, code: "MethodNotAllowed", message: m + " is not allowed on " + p}
	}
	switch p {
	case "/metrics":
		if m != http.MethodGet {
			return bad("node", "metrics")
		}
		return routed{api: "node", op: "metrics", handler: (*Server).metrics, unlimited: true}
	case "/v1/status":
		if m != http.MethodGet {
			return bad("node", "status")
		}
		return routed{api: "node", op: "status", handler: (*Server).status, unlimited: true}
	case "/v1/drives":
		if m != http.MethodGet {
			return bad("node", "drives")
		}
		return routed{api: "node", op: "drives", handler: (*Server).drives, unlimited: true}
	case "/v1/rebuild":
		if m != http.MethodPost {
			return bad("node", "rebuild")
		}
		return routed{api: "node", op: "rebuild", handler: (*Server).startRebuild, unlimited: true}
	case "/v1/scrub":
		if m != http.MethodPost {
			return bad("node", "scrub")
		}
		return routed{api: "node", op: "scrub", handler: (*Server).startScrub, unlimited: true}
	case "/v1/events":
		if m != http.MethodGet {
			return bad("node", "events")
		}
		return routed{api: "node", op: "events", handler: (*Server).events, unlimited: true}
	case "/v1/firmware":
		switch m {
		case http.MethodGet:
			return routed{api: "firmware", op: "status", handler: (*Server).firmwareStatus, unlimited: true}
		case http.MethodPut:
			return routed{api: "firmware", op: "apply", handler: (*Server).putFirmware, unlimited: true}
		}
		b := bad("firmware", "method")
		b.message += " (allowed: GET, PUT)"
		return b
	case "/v1/firmware/reboot":
		if m != http.MethodPost {
			return bad("firmware", "reboot")
		}
		return routed{api: "firmware", op: "reboot", handler: (*Server).rebootFirmware, unlimited: true}
	case "/v1/buckets":
		if m != http.MethodGet {
			return bad("objects", "list-buckets")
		}
		return routed{api: "objects", op: "list-buckets", handler: (*Server).listBuckets}
	case "/v1/kv":
		if m != http.MethodGet {
			return bad("kv", "list-indexes")
		}
		return routed{api: "kv", op: "list-indexes", handler: (*Server).listIndexes}
	}
	if pos, ok := strings.CutPrefix(p, "/v1/drives/"); ok {
		if m != http.MethodPost {
			return bad("node", "drive-state")
		}
		return routed{api: "node", op: "drive-state", handler: (*Server).driveState, unlimited: true, key: pos}
	}
	var api, rest string
	switch {
	case strings.HasPrefix(p, "/v1/buckets/"):
		api, rest = "objects", p[len("/v1/buckets/"):]
	case strings.HasPrefix(p, "/v1/kv/"):
		api, rest = "kv", p[len("/v1/kv/"):]
	default:
		return notFound
	}
	name, key, hasKey := strings.Cut(rest, "/")
	var err error
	if name, err = url.PathUnescape(name); err != nil || name == "" {
		return routed{api: api, op: "bad-path", status: http.StatusBadRequest, code: "InvalidURI", message: "the path does not name a bucket or index"}
	}
	if hasKey {
		if key, err = url.PathUnescape(key); err != nil {
			return routed{api: api, op: "bad-path", status: http.StatusBadRequest, code: "InvalidURI", message: "the key is not a valid percent-encoded path: " + err.Error()}
		}
		if key == "" {
			return routed{api: api, op: "bad-path", status: http.StatusBadRequest, code: "InvalidKey", message: "empty key (a path ending in '/')"}
		}
	}
	rt := routed{api: api, bucket: name, key: key}
	type entry struct {
		op string
		h  handlerFunc
	}
	var table map[string]entry
	switch {
	case api == "objects" && !hasKey:
		table = map[string]entry{
			http.MethodPut: {"create-bucket", (*Server).createBucket}, http.MethodDelete: {"delete-bucket", (*Server).deleteBucket},
			http.MethodGet: {"list-objects", (*Server).listObjects}, http.MethodHead: {"head-bucket", (*Server).headBucket},
		}
	case api == "objects":
		table = map[string]entry{
			http.MethodPut: {"put", (*Server).putObject}, http.MethodGet: {"get", (*Server).getObject},
			http.MethodHead: {"head", (*Server).getObject}, http.MethodDelete: {"delete", (*Server).deleteObject},
		}
	case !hasKey:
		table = map[string]entry{
			http.MethodPut: {"create-index", (*Server).createIndex}, http.MethodDelete: {"drop-index", (*Server).dropIndex},
			http.MethodGet: {"range", (*Server).rangeKV}, http.MethodPost: {"batch", (*Server).batchKV},
		}
	default:
		table = map[string]entry{
			http.MethodPut: {"put", (*Server).putKV}, http.MethodGet: {"get", (*Server).getKV},
			http.MethodDelete: {"delete", (*Server).deleteKV},
		}
	}
	e, ok := table[m]
	if !ok {
		var allowed []string
		for k := range table {
			allowed = append(allowed, k)
		}
		sort.Strings(allowed)
		b := bad(api, "method")
		b.message += " (allowed: " + strings.Join(allowed, ", ") + ")"
		return b
	}
	rt.op, rt.handler = e.op, e.h
	return rt
}

func sortRequests(rs []Request) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start.Before(rs[j].Start) })
}
