package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// certReloader serves the certificate in a pair of PEM files and reads them again on
// SIGHUP or when either file changes, so that a renewed certificate (certbot, cert-manager)
// is used without a restart or a dropped connection.
type certReloader struct {
	certFile, keyFile string
	mu                sync.RWMutex
	cert              *tls.Certificate
	stamp             string // the files' sizes and modification times when read
}

func newCertReloader(certFile, keyFile string) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *certReloader) fileStamp() string {
	stamp := ""
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return stamp
}

func (c *certReloader) load() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate: %w", err)
	}
	c.mu.Lock()
	c.cert, c.stamp = &cert, stamp
	c.mu.Unlock()
	return nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// notifyHUP starts catching SIGHUP for watch. It is called before the server announces
// itself, so that a SIGHUP sent as soon as it listens reloads rather than kills it.
func notifyHUP() chan os.Signal {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup
}

// watch reloads on a signal on hup and when the files change (checked every interval)
// until ctx ends. A pair that fails to load is logged and the certificate in use is kept:
// a renewal caught halfway (the certificate written, the key not yet) must not stop the
// server.
func (c *certReloader) watch(ctx context.Context, hup chan os.Signal, interval time.Duration, log *slog.Logger) {
	defer signal.Stop(hup)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			c.mu.RLock()
			same := c.stamp == c.fileStamp()
			c.mu.RUnlock()
			if same {
				continue
			}
		}
		if err := c.load(); err != nil {
			log.Error("TLS certificate not reloaded; the previous one stays in use", "err", err)
			continue
		}
		log.Info("TLS certificate reloaded", "cert", c.certFile)
	}
}

// tlsConfig is the server's TLS configuration: TLS 1.2 at least, Go's default cipher
// suites (all with forward secrecy).
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.getCertificate}
}
