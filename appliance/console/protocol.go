package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Request is one line a client sends: a command and its arguments.
type Request struct {
	// ID is echoed in the reply (any JSON value; absent: none).
	ID   json.RawMessage `json:"id,omitempty"`
	Cmd  string          `json:"cmd"`
	Args map[string]any  `json:"args,omitempty"`
}

// Reply is one line the server sends: the final answer to a request (OK
// set, and Result or Error), or an item of a streaming command's output
// (Stream set, OK absent), which comes before its final answer.
type Reply struct {
	ID     json.RawMessage `json:"id,omitempty"`
	OK     *bool           `json:"ok,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	Stream json.RawMessage `json:"stream,omitempty"`
}

// Error is a command's failure.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Preview, with code "confirm-required", is what the command would
	// do: send it again with "confirm": true to do it.
	Preview json.RawMessage `json:"preview,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Error codes.
const (
	CodeBadRequest      = "bad-request"      // the line is not a request
	CodeUnknownCommand  = "unknown-command"  // no such command
	CodeBadArgs         = "bad-args"         // missing, unknown or malformed arguments
	CodeNotFound        = "not-found"        // what the arguments name does not exist
	CodeConfirmRequired = "confirm-required" // a metadata edit previewed, not done
	CodeConflict        = "conflict"         // the value changed since it was previewed
	CodeUnavailable     = "unavailable"      // this node cannot do it (no enclosure, ...)
	CodeForbidden       = "forbidden"        // the peer may not use the console
	CodeBusy            = "busy"             // too many console connections
	CodeCanceled        = "canceled"         // the client canceled it
	CodeFailed          = "failed"           // the command ran and failed
)

// MaxLine is the longest request line the server reads.
const MaxLine = 1 << 20

// codeError is an error with the code its reply carries.
type codeError struct {
	code    string
	err     error
	preview any
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// withCode gives an error the code its reply carries.
func withCode(code string, err error) error { return &codeError{code: code, err: err} }

// errorf makes an error with a code.
func errorf(code, format string, args ...any) error {
	return &codeError{code: code, err: fmt.Errorf(format, args...)}
}

// encodeLine marshals v as one line (no HTML escaping: keys and paths are
// shown as they are).
func encodeLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping.
func marshal(v any) (json.RawMessage, error) {
	b, err := encodeLine(v)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(b, "\n")), nil
}

// ParseRequest reads one request line.
func ParseRequest(line []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return r, errorf(CodeBadRequest, "not a request (one JSON object per line: {\"id\": 1, \"cmd\": \"status\", \"args\": {}}): %v", err)
	}
	if dec.More() {
		return r, errorf(CodeBadRequest, "one JSON object per line")
	}
	if r.Cmd == "" {
		return r, errorf(CodeBadRequest, "the request names no command (\"cmd\"); \"help\" lists them")
	}
	return r, nil
}

// codeOf returns an error's code.
func codeOf(err error) string {
	var ce *codeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return classify(err)
}
