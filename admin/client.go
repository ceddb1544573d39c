package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrNotRunning means no daemon answers on the admin socket.
var ErrNotRunning = errors.New("ticketgate is not running")

// Client talks to the admin API over the unix socket (or a TCP base URL
// with a token).
type Client struct {
	http *http.Client
	base string
	// As names the acting agent (unix socket).
	As string
	// Token authenticates over TCP.
	Token  string
	socket string
}

// NewSocketClient returns a client for data_dir/admin.sock.
func NewSocketClient(socket string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}
	return &Client{http: &http.Client{Transport: tr, Timeout: 10 * time.Minute}, base: "http://ticketgate", socket: socket}
}

// NewTCPClient returns a client for a TCP admin listener.
func NewTCPClient(baseURL, token string, c *http.Client) *Client {
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Minute}
	}
	return &Client{http: c, base: strings.TrimRight(baseURL, "/"), Token: token}
}

func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.As != "" {
		req.Header.Set(AsHeader, c.As)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if c.socket != "" && (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)) {
			return nil, fmt.Errorf("%w (no daemon answers on %s; start it with `ticketgate serve`)", ErrNotRunning, c.socket)
		}
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var e APIError
		if json.NewDecoder(resp.Body).Decode(&e) == nil && e.Error != "" {
			return nil, &StatusError{Code: resp.StatusCode, Msg: e.Error}
		}
		return nil, &StatusError{Code: resp.StatusCode, Msg: resp.Status}
	}
	return resp, nil
}

// StatusError is an API error answer.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// Call sends a request and decodes the JSON answer into out (if not nil).
func (c *Client) Call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Tickets lists tickets.
func (c *Client) Tickets(ctx context.Context, project, status, customer, q string) ([]TicketSummary, error) {
	v := url.Values{}
	for k, s := range map[string]string{"project": project, "status": status, "customer": customer, "q": q} {
		if s != "" {
			v.Set(k, s)
		}
	}
	var out []TicketSummary
	return out, c.Call(ctx, http.MethodGet, "/api/tickets?"+v.Encode(), nil, &out)
}

// Ticket shows one ticket.
func (c *Client) Ticket(ctx context.Context, key string) (*TicketDetail, error) {
	var d TicketDetail
	return &d, c.Call(ctx, http.MethodGet, "/api/tickets/"+url.PathEscape(key), nil, &d)
}

// Backup streams a backup archive into w and checks it is complete.
func (c *Client) Backup(ctx context.Context, w io.Writer) error {
	resp, err := c.do(ctx, http.MethodGet, "/api/backup", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if st := resp.Trailer.Get(BackupStatusTrailer); st != "ok" {
		return fmt.Errorf("backup incomplete: %s", strings.TrimPrefix(st, "error: "))
	}
	return nil
}
