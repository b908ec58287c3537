package email

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the test server got it.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// testServer is a real go-smtp server that stores what it receives. Hooks
// let a test refuse commands the way a real relay would.
type testServer struct {
	Addr     string
	srv      *smtp.Server
	sessions atomic.Int32
	logouts  atomic.Int32 // sessions the server has ended

	mu   sync.Mutex
	msgs []received

	// Set before the first connection.
	onMail func(from string) error
	onRcpt func(to string) error
	onData func() error
	users  map[string]string // non-nil: AUTH PLAIN and LOGIN with these users
	plain  bool              // with users: offer PLAIN (else only LOGIN)
}

type serverOption func(*smtp.Server, *testServer)

func withTLS(cfg *tls.Config) serverOption {
	return func(s *smtp.Server, _ *testServer) { s.TLSConfig = cfg }
}

func withAuth(users map[string]string, plain bool) serverOption {
	return func(_ *smtp.Server, ts *testServer) { ts.users, ts.plain = users, plain }
}

func withReadTimeout(d time.Duration) serverOption {
	return func(s *smtp.Server, _ *testServer) { s.ReadTimeout = d }
}

func withHooks(mail, rcpt func(string) error, data func() error) serverOption {
	return func(_ *smtp.Server, ts *testServer) { ts.onMail, ts.onRcpt, ts.onData = mail, rcpt, data }
}

// startServer serves SMTP on a loopback port until the test ends. wrap, if
// not nil, wraps the listener (implicit TLS, a filter).
func startServer(t testing.TB, wrap func(net.Listener) net.Listener, opts ...serverOption) *testServer {
	t.Helper()
	ts := &testServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		ts.sessions.Add(1)
		_, isTLS := c.TLSConnectionState()
		base := &testSession{ts: ts, tls: isTLS}
		if ts.users != nil {
			return &authSession{base}, nil
		}
		return base, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	for _, o := range opts {
		o(srv, ts)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Addr = l.Addr().String()
	if wrap != nil {
		l = wrap(l)
	}
	ts.srv = srv
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ts
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

type testSession struct {
	ts   *testServer
	tls  bool
	user string
	cur  received
}

func (s *testSession) Reset() { s.cur = received{} }
func (s *testSession) Logout() error {
	s.ts.logouts.Add(1)
	return nil
}

func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.ts.users != nil && s.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.ts.onMail != nil {
		if err := s.ts.onMail(from); err != nil {
			return err
		}
	}
	s.cur.From = from
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.onRcpt != nil {
		if err := s.ts.onRcpt(to); err != nil {
			return err
		}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.ts.onData != nil {
		if err := s.ts.onData(); err != nil {
			return err
		}
	}
	s.cur.Data, s.cur.TLS, s.cur.User = data, s.tls, s.user
	s.ts.mu.Lock()
	s.ts.msgs = append(s.ts.msgs, s.cur)
	s.ts.mu.Unlock()
	return nil
}

type authSession struct{ *testSession }

func (s *authSession) AuthMechanisms() []string {
	if s.ts.plain {
		return []string{sasl.Plain, sasl.Login}
	}
	return []string{sasl.Login}
}

func (s *authSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if want, ok := s.ts.users[user]; !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		s.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check func(user, pass string) error
	step  int
	user  string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if resp != nil {
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 2:
		l.user = string(resp)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.user, string(resp))
	}
}

// selfSignedTLS gives a server config for 127.0.0.1 and a client config that
// trusts it.
func selfSignedTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return server, &tls.Config{RootCAs: roots}
}

// dropLines hides EHLO keywords from the client, to play a server without
// an extension: go-smtp writes each reply line in its own Write.
type dropLines struct {
	net.Listener
	drop string
}

func (d dropLines) Accept() (net.Conn, error) {
	c, err := d.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &dropConn{Conn: c, drop: d.drop}, nil
}

type dropConn struct {
	net.Conn
	drop string
}

func (c *dropConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.drop)) && bytes.Count(p, []byte("\n")) == 1 {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// hangingServer accepts connections and then says nothing, or only what
// script gives before going silent, like a relay stuck on a full disk.
func hangingServer(t testing.TB, script func(c net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				if script != nil {
					script(c)
				}
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		close(done)
		conns.Wait()
	})
	return l.Addr().String()
}

// readLine reads one line for a hand-written server, byte by byte so
// nothing is read ahead of it.
func readLine(c net.Conn) (string, error) {
	var sb strings.Builder
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			return sb.String(), err
		}
		if b[0] == '\n' {
			return strings.TrimRight(sb.String(), "\r"), nil
		}
		sb.WriteByte(b[0])
	}
}
