package sqlstore

import (
	"sync"
	"time"

	"github.com/scimd/scimd/internal/store"
)

// credentialTTL is how long a credential read for authentication is reused. Every SCIM
// request authenticates, and reading the credential was one of its queries; reused for a
// second, a busy identity provider costs one read per second instead. A change made
// through this store (revoke, rotate, a tenant disabled or deleted) clears the cache at
// once; one made by another process or instance on the same database takes effect when
// the entry expires, so within credentialTTL everywhere.
const credentialTTL = time.Second

// maxCachedCredentials bounds the cache: an attacker presenting many ids fills nothing,
// since only credentials that exist are cached, but a deployment with very many tenants
// stays bounded too.
const maxCachedCredentials = 10000

type cachedCredential struct {
	cred    store.Credential
	expires time.Time
}

// credentialCache holds recently read credentials by id.
type credentialCache struct {
	mu sync.Mutex
	m  map[string]cachedCredential
	// gen counts clears: a read that began before a clear must not be cached after it,
	// or a credential revoked meanwhile would be accepted for another second.
	gen uint64
}

// get returns a cached credential, or false and the generation to pass to put.
func (c *credentialCache) get(id string, now time.Time) (store.Credential, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || !now.Before(e.expires) {
		return store.Credential{}, c.gen, false
	}
	return e.cred, c.gen, true
}

func (c *credentialCache) put(cred store.Credential, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedCredentials {
		c.m = map[string]cachedCredential{}
	}
	c.m[cred.ID] = cachedCredential{cred: cred, expires: now.Add(credentialTTL)}
}

// clear forgets every cached credential: called after any change that can refuse one.
func (c *credentialCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.gen++
	c.mu.Unlock()
}
