package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/activity"
	"github.com/scimd/scimd/internal/compat"
	"github.com/scimd/scimd/internal/store"
)

// recorded records each SCIM request whose tenant is known (its credential exists) in the
// activity log. It keeps at most activity.CaptureLimit bytes of each body; the recorder
// redacts them off the request path.
func (s *Server) recorded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := activity.InfoFrom(r.Context())
		if info == nil {
			info = &activity.Info{RequestID: activity.NewRequestID()}
			r = r.WithContext(activity.WithInfo(r.Context(), info))
		}
		if info.Client == "" {
			// The User-Agent or the URL may say; else the credential's memory or the body
			// may, once they are read.
			info.Client = compat.IdentifyClient(r)
		}
		if s.opts.Activity == nil {
			next.ServeHTTP(w, r)
			if info.Client == "" {
				info.Client = activity.ClientOther
			}
			return
		}
		start := time.Now()
		var reqBody *capture
		if r.Body != nil && r.Body != http.NoBody {
			reqBody = &capture{buf: activity.CaptureBuffer()}
			// Sized once, not grown as the handler reads the body in pieces.
			if r.ContentLength > 0 {
				reqBody.buf.Grow(int(min(r.ContentLength, activity.CaptureLimit)))
			}
			r.Body = &teeBody{ReadCloser: r.Body, c: reqBody}
		}
		rw := &recordingWriter{ResponseWriter: w, body: capture{buf: activity.CaptureBuffer()}}
		next.ServeHTTP(rw, r)
		if info.Client == "" {
			info.Client = activity.ClientOther
		}
		buffers := []*bytes.Buffer{rw.body.buf}
		if reqBody != nil {
			buffers = append(buffers, reqBody.buf)
		}
		if info.TenantID == "" {
			// No tenant to file it under: an unknown credential or none.
			for _, b := range buffers {
				activity.ReleaseBuffer(b)
			}
			return
		}
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		rtype, rid := resourceOf(r, rw.Header().Get("Location"))
		req := activity.Request{
			Entry: store.ActivityEntry{
				TenantID: info.TenantID, At: start.UTC(), RequestID: info.RequestID, CredentialID: info.CredentialID,
				Client: info.Client, Method: r.Method, Path: r.URL.RequestURI(), Status: status, Latency: time.Since(start),
				ScimType: info.ScimType, Detail: info.Detail, ResourceType: rtype, ResourceID: rid,
			},
			ResponseBody: rw.body.buf.Bytes(), ResponseTooLarge: rw.body.over(),
			Buffers: buffers,
		}
		if reqBody != nil {
			req.RequestBody, req.RequestTooLarge = reqBody.buf.Bytes(), reqBody.over()
		}
		s.opts.Activity.Record(req)
	})
}

// resourceOf names the resource a request touched: the id in its path, or the Location of
// the resource it created.
func resourceOf(r *http.Request, location string) (rtype, id string) {
	p := strings.TrimPrefix(r.URL.Path, Prefix+"/")
	seg := strings.SplitN(p, "/", 3)
	switch seg[0] {
	case "Users":
		rtype = "User"
	case "Groups":
		rtype = "Group"
	case "Bulk":
		return "Bulk", ""
	case "Me":
		return "User", ""
	default:
		return "", ""
	}
	if len(seg) > 1 && seg[1] != "" && seg[1] != ".search" {
		return rtype, seg[1]
	}
	if location != "" {
		if u, err := url.Parse(location); err == nil {
			return rtype, u.Path[strings.LastIndexByte(u.Path, '/')+1:]
		}
	}
	return rtype, ""
}

// capture keeps the first activity.CaptureLimit bytes written to it and counts the rest.
type capture struct {
	buf   *bytes.Buffer
	total int64
}

func (c *capture) write(p []byte) {
	c.total += int64(len(p))
	if room := activity.CaptureLimit - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
}

// over is the body's full size when it was longer than what was kept, else 0.
func (c *capture) over() int64 {
	if c.total > int64(c.buf.Len()) {
		return c.total
	}
	return 0
}

type teeBody struct {
	io.ReadCloser
	c *capture
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.c.write(p[:n])
	return n, err
}

// recordingWriter keeps the status and the start of the body of a response.
type recordingWriter struct {
	http.ResponseWriter
	status int
	body   capture
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.write(p)
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (deadlines, flushing).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
