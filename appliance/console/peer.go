package console

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync"
	"time"
)

// Who may use the console: on the unix socket, root and the user the node
// runs as (the kernel's SO_PEERCRED says who the peer is; the socket's
// mode 0600 already keeps others from connecting, this makes sure); on
// the TCP listener, whoever presents a certificate the configured CA
// signed (the TLS handshake checks it).

// serverUID is the uid the node runs as; tests replace it to play a
// stranger.
var serverUID = os.Getuid

// peerCred returns a unix peer's uid and pid (peer_linux.go); tests
// replace it to play a stranger.
var (
	peerMu   sync.Mutex
	peerCred = socketPeerCred
)

// unixPeer checks a unix socket peer and names it for the audit records:
// "uid 1000 (alice) pid 4242".
func unixPeer(c net.Conn) (string, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return "", errors.New("console: not a unix socket connection")
	}
	peerMu.Lock()
	cred := peerCred
	peerMu.Unlock()
	uid, pid, err := cred(uc)
	if err != nil {
		return "", fmt.Errorf("console: the peer's credentials: %w", err)
	}
	who := fmt.Sprintf("uid %d", uid)
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		who += " (" + u.Username + ")"
	}
	who += fmt.Sprintf(" pid %d", pid)
	if own := serverUID(); uid != 0 && int(uid) != own {
		return "", fmt.Errorf("console: %s may not use this console: only root and uid %d (the node's user) may", who, own)
	}
	return who, nil
}

// tlsPeer completes the TLS handshake (which checks the client's
// certificate) and names the peer by its certificate's subject.
func tlsPeer(c net.Conn) (string, error) {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return "", errors.New("console: not a TLS connection")
	}
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		return "", fmt.Errorf("console: TLS handshake with %s: %w", c.RemoteAddr(), err)
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if len(st.PeerCertificates) == 0 {
		return "", fmt.Errorf("console: %s presented no certificate", c.RemoteAddr())
	}
	cert := st.PeerCertificates[0]
	return fmt.Sprintf("cert %q serial %s from %s", cert.Subject.String(), cert.SerialNumber, c.RemoteAddr()), nil
}

// loadCAs reads PEM certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
