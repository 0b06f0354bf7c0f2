package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sessionCookie names the console's session cookie.
const sessionCookie = "scimd_console"

// sessions are signed cookies: expiry and a random id, with an HMAC of both. Nothing is
// kept on the server, so a session needs no store; the CSRF token of a session is an HMAC
// of its id, checked on every form post.
type sessions struct {
	key    []byte
	maxAge time.Duration
	now    func() time.Time
}

type session struct {
	id      string
	expires time.Time
}

func (s *sessions) mac(parts ...string) string {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(strings.Join(parts, "|")))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// issue sets a new session's cookie.
func (s *sessions) issue(w http.ResponseWriter, secure bool) {
	var b [18]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	exp := strconv.FormatInt(s.now().Add(s.maxAge).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: exp + "." + id + "." + s.mac("session", exp, id), Path: Prefix + "/",
		MaxAge: int(s.maxAge.Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	})
}

// clear ends the session in the browser.
func (s *sessions) clear(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: Prefix + "/", MaxAge: -1, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteStrictMode})
}

// read returns the request's valid session.
func (s *sessions) read(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	exp, rest, ok := strings.Cut(c.Value, ".")
	id, mac, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || !hmac.Equal([]byte(mac), []byte(s.mac("session", exp, id))) {
		return session{}, false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !s.now().Before(time.Unix(unix, 0)) {
		return session{}, false
	}
	return session{id: id, expires: time.Unix(unix, 0)}, true
}

// csrf is the session's form token.
func (s *sessions) csrf(sess session) string { return s.mac("csrf", sess.id) }

// checkCSRF compares a posted form token with the session's, in constant time.
func (s *sessions) checkCSRF(sess session, token string) bool {
	want := s.csrf(sess)
	return subtle.ConstantTimeCompare([]byte(token), []byte(want)) == 1
}
