package console

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Client is a connection to a node's console.
type Client struct {
	// Name names the node in fleet output (its address, or "local").
	Name string
	conn net.Conn
	r    *bufio.Reader
	mu   sync.Mutex // one request at a time
	next int
}

// DialUnix connects to the console socket at path.
func DialUnix(path string, timeout time.Duration) (*Client, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("console %s: %w (is the node running? is this its data directory?)", path, err)
	}
	return &Client{Name: "local", conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// DialTLS connects to a node's remote console.
func DialTLS(addr string, cfg *tls.Config, timeout time.Duration) (*Client, error) {
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("console %s: %w", addr, err)
	}
	return &Client{Name: addr, conn: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Do sends a request and waits for its reply, passing stream items to
// item (nil: dropped). When ctx ends first, the command is canceled
// (streams end so) and Do still waits for its reply. A command's failure
// is an *Error; anything else is the connection's.
func (c *Client) Do(ctx context.Context, req Request, item func(json.RawMessage)) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	id := strconv.Itoa(c.next)
	req.ID = json.RawMessage(id)
	b, err := encodeLine(req)
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(b); err != nil {
		return nil, fmt.Errorf("console %s: send: %w", c.Name, err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			if b, err := encodeLine(Request{Cmd: "cancel"}); err == nil {
				c.conn.Write(b)
			}
		case <-done:
		}
	}()
	for {
		line, err := readLine(c.r)
		if err != nil && len(line) == 0 {
			if errors.Is(err, errLineTooLong) {
				return nil, fmt.Errorf("console %s: %w", c.Name, err)
			}
			return nil, fmt.Errorf("console %s: connection closed: %w", c.Name, err)
		}
		var r Reply
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("console %s: a reply that is not JSON: %w", c.Name, err)
		}
		if len(r.ID) == 0 && r.OK != nil && !*r.OK && r.Error != nil {
			return nil, r.Error // the server refused the connection
		}
		if string(r.ID) != id {
			continue
		}
		if r.OK == nil {
			if item != nil && r.Stream != nil {
				item(r.Stream)
			}
			continue
		}
		if !*r.OK {
			if r.Error == nil {
				r.Error = &Error{Code: CodeFailed, Message: "failed (no error given)"}
			}
			return nil, r.Error
		}
		return r.Result, nil
	}
}

// Help fetches the node's commands.
func (c *Client) Help(ctx context.Context) ([]Command, error) {
	res, err := c.Do(ctx, Request{Cmd: "help"}, nil)
	if err != nil {
		return nil, err
	}
	var h HelpResult
	if err := json.Unmarshal(res, &h); err != nil {
		return nil, fmt.Errorf("console %s: help: %w", c.Name, err)
	}
	return h.Commands, nil
}
