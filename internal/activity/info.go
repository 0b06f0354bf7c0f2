package activity

import "context"

// Info is what the handler learns about a request that the layers around it report: the
// server's request log line and metrics read it after the handler has filled it. One
// goroutine serves a request, so it needs no lock.
type Info struct {
	RequestID    string
	Route        string // the route's pattern, bounded in number (a metrics label)
	TenantID     string
	TenantName   string
	CredentialID string
	Client       string // the identity provider, "other" when not recognised
	// ClientRemembered: Client is the one the credential's earlier requests were
	// recognised as, not this request's own (whose body may still tell).
	ClientRemembered bool
	ScimType         string
	Detail           string
}

type infoKey struct{}

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the Info ctx carries, or nil.
func InfoFrom(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// ClientOther names an identity provider that was not recognised.
const ClientOther = "other"
