package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/scimd/scimd/internal/roles"
	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// A tenant export is one JSON object, written and read as a stream (docs/deploy.md,
// "Moving a tenant"):
//
//	{"format": "scimd-tenant", "version": 1, "exported": "…",
//	 "tenant": {"id": …, "name": …, "external_ref": …, "created": …, "updated": …, "disabled": …},
//	 "role_config": the tenant's own role configuration, when it has one,
//	 "users": [SCIM User, …],
//	 "groups": [SCIM Group with "members": [{"value": user id, "type": "User"}, …], …]}
//
// Resources are as a SCIM GET shows them (without "$ref" and "location", which name the
// deployment) with meta.created, meta.lastModified and meta.version, which an import keeps.
const (
	ExportFormat  = "scimd-tenant"
	ExportVersion = 1
)

// exportTenant is the "tenant" member of an export.
type exportTenant struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ExternalRef string     `json:"external_ref,omitempty"`
	Created     time.Time  `json:"created"`
	Updated     time.Time  `json:"updated"`
	Disabled    *time.Time `json:"disabled,omitempty"`
}

type exportMeta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Version      string `json:"version"`
}

type exportMember struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// MoveSummary counts what an export wrote or an import read.
type MoveSummary struct {
	Tenant      store.Tenant
	Created     bool // the import created the tenant (else it filled an empty one)
	Users       int
	Groups      int
	Memberships int
}

// ExportTenant writes the tenant named name, with its users and groups, to w as one
// export document, read from one snapshot of the store and written as it is read.
func (s *Service) ExportTenant(ctx context.Context, name string, w io.Writer) (MoveSummary, error) {
	t, err := s.TenantByName(ctx, name)
	if err != nil {
		return MoveSummary{}, err
	}
	sum := MoveSummary{Tenant: t}
	bw := bufio.NewWriterSize(w, 64<<10)
	head, err := json.Marshal(exportTenant{ID: t.ID, Name: t.Name, ExternalRef: t.ExternalRef, Created: t.Created, Updated: t.Updated, Disabled: t.Disabled})
	if err != nil {
		return sum, fmt.Errorf("export tenant: %w", err)
	}
	fmt.Fprintf(bw, "{\"format\":%q,\"version\":%d,\"exported\":%q,\n\"tenant\":%s,\n", ExportFormat, ExportVersion,
		s.now().UTC().Format(time.RFC3339Nano), head)
	// The tenant's own role configuration goes with it, so that its users hold the same
	// roles after the move; the default configuration is the deployment's.
	own, _, err := s.store.RoleConfig(ctx, t.ID)
	if err != nil {
		return sum, fmt.Errorf("export tenant: %w", err)
	}
	if own != nil {
		cfg, err := json.Marshal(own)
		if err != nil {
			return sum, fmt.Errorf("export tenant: %w", err)
		}
		fmt.Fprintf(bw, "\"role_config\":%s,\n", cfg)
	}
	bw.WriteString("\"users\":[")
	var buf []byte
	err = s.store.ExportTenant(ctx, t.ID, func(u *store.User) error {
		if sum.Users > 0 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		sum.Users++
		buf, err = appendResource(buf[:0], s.users, u.ID, u.Data, "User", u.Meta, nil)
		if err != nil {
			return err
		}
		_, err = bw.Write(buf)
		return err
	}, func(g *store.Group, members []string) error {
		if sum.Groups == 0 {
			bw.WriteString("\n],\n\"groups\":[")
		} else {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		sum.Groups++
		sum.Memberships += len(members)
		list := make([]exportMember, len(members))
		for i, id := range members {
			list[i] = exportMember{Value: id, Type: "User"}
		}
		buf, err = appendResource(buf[:0], s.groups, g.ID, g.Data, "Group", g.Meta, list)
		if err != nil {
			return err
		}
		_, err = bw.Write(buf)
		return err
	})
	if err != nil {
		return sum, storeError(err, fmt.Sprintf("tenant %q", name))
	}
	if sum.Groups == 0 {
		bw.WriteString("\n],\n\"groups\":[")
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return sum, fmt.Errorf("export tenant: write: %w", err)
	}
	return sum, nil
}

// appendResource appends a resource as SCIM JSON: schemas, id, its attributes in name
// order, members when given, and meta.
func appendResource(b []byte, rt *scim.ResourceType, id string, data scim.Resource, resourceType string, m store.Meta, members []exportMember) ([]byte, error) {
	schemas := []string{rt.Schema.ID}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
		if strings.HasPrefix(strings.ToLower(k), "urn:") {
			schemas = append(schemas, k)
		}
	}
	sort.Strings(keys)
	field := func(k string, v any) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("export %s %s: %q: %w", resourceType, id, k, err)
		}
		name, err := json.Marshal(k) // JSON's quoting, not Go's (which can write \x escapes)
		if err != nil {
			return fmt.Errorf("export %s %s: %q: %w", resourceType, id, k, err)
		}
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = append(b, name...)
		b = append(b, ':')
		b = append(b, enc...)
		return nil
	}
	b = append(b, '{')
	if err := field("schemas", schemas); err != nil {
		return nil, err
	}
	if err := field("id", id); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := field(k, data[k]); err != nil {
			return nil, err
		}
	}
	if members != nil {
		if err := field("members", members); err != nil {
			return nil, err
		}
	}
	meta := exportMeta{ResourceType: resourceType, Created: formatTime(m.Created), LastModified: formatTime(m.LastModified),
		Version: `W/"` + strconv.FormatInt(m.Version, 10) + `"`}
	if err := field("meta", meta); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ImportOptions say how an export is imported.
type ImportOptions struct {
	// Tenant is the name to import under instead of the export's.
	Tenant string
	// Extensions are the server's schema extensions (serve --schemas): those of the
	// target tenant are accepted in the resources, and only those.
	Extensions []scim.ExtensionConfig
	// Progress, when set, is called after every ProgressEvery resources read (and
	// written, uncommitted).
	Progress func(users, groups int)
}

// ProgressEvery is how often an import reports progress.
const ProgressEvery = 10000

// ImportTenant reads an export from r and writes its tenant in one transaction: the whole
// tenant or, on any error (a bad resource late in the file, a cut connection), nothing.
// The resources are checked as a SCIM create checks them, against the target tenant's
// schemas, and keep their ids and meta.
func (s *Service) ImportTenant(ctx context.Context, r io.Reader, opts ImportOptions) (MoveSummary, error) {
	rd := &exportReader{dec: json.NewDecoder(bufio.NewReaderSize(r, 64<<10))}
	rd.dec.UseNumber()
	head, roleConfig, err := rd.header()
	if err != nil {
		return MoveSummary{}, invalid("file", "%s", importMessage(err))
	}
	t := store.Tenant{ID: head.ID, Name: head.Name, ExternalRef: head.ExternalRef, Created: head.Created, Updated: head.Updated, Disabled: head.Disabled}
	if opts.Tenant != "" {
		t.Name = opts.Tenant
	}
	if err := checkText("name", t.Name, true); err != nil {
		return MoveSummary{}, err
	}
	if err := checkText("external_ref", t.ExternalRef, false); err != nil {
		return MoveSummary{}, err
	}
	// "roles" is taken as written: the store keeps the assignments or drops them by the
	// target tenant's role configuration, as a SCIM create does.
	users, groups := scim.NewUserResourceType().WithReadWrite("roles"), scim.NewGroupResourceType()
	for _, e := range opts.Extensions {
		if len(e.Tenants) > 0 && !slices.Contains(e.Tenants, t.Name) {
			continue
		}
		ext := scim.SchemaExtension{Schema: e.Schema, Required: e.Required}
		if e.ResourceType == "User" {
			users = users.WithExtensions(ext)
		} else {
			groups = groups.WithExtensions(ext)
		}
	}
	nUsers, nGroups := 0, 0
	progress := func() {
		if opts.Progress != nil && (nUsers+nGroups)%ProgressEvery == 0 {
			opts.Progress(nUsers, nGroups)
		}
	}
	in := store.TenantImport{Tenant: t, RoleConfig: roleConfig,
		Users: func(yield func(*store.User, error) bool) {
			for raw, err := range rd.array("users") {
				var u *store.User
				if err == nil {
					u, err = importedUser(users, raw, nUsers)
				}
				if !yield(u, err) || err != nil {
					return
				}
				nUsers++
				progress()
			}
		},
		Groups: func(yield func(*store.ImportGroup, error) bool) {
			for raw, err := range rd.array("groups") {
				var g *store.ImportGroup
				if err == nil {
					g, err = importedGroup(groups, raw, nGroups)
				}
				if !yield(g, err) || err != nil {
					return
				}
				nGroups++
				progress()
			}
		},
	}
	res, err := s.store.ImportTenant(ctx, in)
	if err != nil {
		switch {
		case errors.Is(err, store.ErrNotEmpty):
			return MoveSummary{}, &Error{Kind: Conflict, Field: "tenant", Detail: strings.TrimPrefix(err.Error(), "import tenant: ") +
				"; an import fills only a new or empty tenant (import under another name with --tenant, or delete the tenant first)"}
		case errors.Is(err, store.ErrExists):
			return MoveSummary{}, &Error{Kind: Conflict, Field: conflictField(err), Detail: strings.TrimPrefix(err.Error(), "import tenant: ")}
		case rd.bad(err):
			return MoveSummary{}, invalid("file", "%s", importMessage(err))
		}
		return MoveSummary{}, err
	}
	return MoveSummary{Tenant: res.Tenant, Created: res.Created, Users: res.Users, Groups: res.Groups, Memberships: res.Memberships}, nil
}

// importMessage says what is wrong with the file without the HTTP status a SCIM error
// carries (there is no request here).
func importMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "import tenant: ")
	if e, ok := scim.AsError(err); ok {
		msg = strings.Replace(msg, e.Error(), e.Detail, 1)
	}
	return "not a valid tenant export: " + msg
}

// fileError is a fault of the export file (as opposed to the database).
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func fileErr(format string, args ...any) error { return &fileError{fmt.Errorf(format, args...)} }

// exportReader walks an export's JSON object: the header members, then the "users"
// array, then the "groups" array, one element at a time.
type exportReader struct {
	dec *json.Decoder
	// next is the member whose value the decoder is at ("users" or "groups"), or "" once
	// the object has ended.
	next string
}

// bad reports whether err is the file's fault: a syntax or structure error, or a
// resource a SCIM create would refuse.
func (rd *exportReader) bad(err error) bool {
	var fe *fileError
	_, isSCIM := scim.AsError(err)
	return errors.As(err, &fe) || isSCIM
}

// header reads the members before the resources: the tenant and its own role
// configuration (nil when it has none).
func (rd *exportReader) header() (t exportTenant, cfg *roles.Config, err error) {
	tok, err := rd.dec.Token()
	if err != nil || tok != json.Delim('{') {
		return t, nil, fileErr("it is not a JSON object")
	}
	var format, version, tenant bool
	for {
		if !rd.dec.More() {
			rd.next = ""
			if _, err := rd.dec.Token(); err != nil {
				return t, nil, fileErr("%v", err)
			}
			if err := rd.end(); err != nil {
				return t, nil, err
			}
			break
		}
		key, err := rd.key()
		if err != nil {
			return t, nil, err
		}
		if key == "users" || key == "groups" {
			rd.next = key
			break
		}
		switch key {
		case "format":
			var f string
			if err := rd.dec.Decode(&f); err != nil || f != ExportFormat {
				return t, nil, fileErr("\"format\" is not %q", ExportFormat)
			}
			format = true
		case "version":
			var v json.Number
			if err := rd.dec.Decode(&v); err != nil {
				return t, nil, fileErr("\"version\" is not a number")
			}
			if v.String() != strconv.Itoa(ExportVersion) {
				return t, nil, fileErr("it is version %s of the format; this scimd reads version %d", v, ExportVersion)
			}
			version = true
		case "exported":
			var at time.Time
			if err := rd.dec.Decode(&at); err != nil {
				return t, nil, fileErr("\"exported\" is not a time: %v", err)
			}
		case "role_config":
			var raw json.RawMessage
			if err := rd.dec.Decode(&raw); err != nil {
				return t, nil, fileErr("\"role_config\": %v", err)
			}
			c, err := roles.Decode(raw)
			if err != nil {
				return t, nil, fileErr("\"role_config\": %v", err)
			}
			cfg = &c
		case "tenant":
			var raw json.RawMessage
			if err := rd.dec.Decode(&raw); err != nil {
				return t, nil, fileErr("\"tenant\": %v", err)
			}
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&t); err != nil {
				return t, nil, fileErr("\"tenant\": %v", err)
			}
			tenant = true
		default:
			return t, nil, fileErr("unknown member %q", key)
		}
	}
	if !format || !version {
		return t, nil, fileErr("it has no \"format\": %q and \"version\" before its resources", ExportFormat)
	}
	if !tenant {
		return t, nil, fileErr("it has no \"tenant\" before its resources")
	}
	return t, cfg, nil
}

func (rd *exportReader) key() (string, error) {
	tok, err := rd.dec.Token()
	if err != nil {
		return "", fileErr("%v", err)
	}
	key, _ := tok.(string)
	return key, nil
}

// end checks that nothing follows the export's object.
func (rd *exportReader) end() error {
	if _, err := rd.dec.Token(); err != io.EOF {
		return fileErr("there is data after the export's JSON object")
	}
	return nil
}

// array yields the raw elements of the member name when the reader is at it (nothing
// otherwise), then moves on to the next member: "groups" after "users", or the end.
func (rd *exportReader) array(name string) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		if rd.next != name {
			return
		}
		if tok, err := rd.dec.Token(); err != nil || tok != json.Delim('[') {
			yield(nil, fileErr("%q is not an array", name))
			return
		}
		for i := 0; rd.dec.More(); i++ {
			var raw json.RawMessage
			if err := rd.dec.Decode(&raw); err != nil {
				yield(nil, fileErr("%s[%d]: %v", name, i, err))
				return
			}
			if !yield(raw, nil) {
				return
			}
		}
		if _, err := rd.dec.Token(); err != nil { // the closing ]
			yield(nil, fileErr("%s: %v", name, err))
			return
		}
		if !rd.dec.More() {
			rd.next = ""
			if _, err := rd.dec.Token(); err != nil {
				yield(nil, fileErr("%v", err))
				return
			}
			if err := rd.end(); err != nil {
				yield(nil, err)
			}
			return
		}
		key, err := rd.key()
		if err != nil {
			yield(nil, err)
			return
		}
		if name != "users" || key != "groups" {
			yield(nil, fileErr("%q after %q: an export has its header, then \"users\", then \"groups\"", key, name))
			return
		}
		rd.next = key
	}
}

// importedResource checks one exported resource as a SCIM create would, and takes its id
// and meta out.
func importedResource(rt *scim.ResourceType, raw json.RawMessage, where string) (string, store.Meta, scim.Resource, error) {
	var m store.Meta
	body, err := scim.DecodeJSON(raw)
	if err != nil {
		return "", m, nil, fileErr("%s is not a JSON object", where)
	}
	id, _ := body["id"].(string)
	if id == "" {
		return "", m, nil, fileErr("%s has no \"id\"", where)
	}
	where = fmt.Sprintf("%s (id %s)", where, id)
	metaObj, _ := body["meta"].(map[string]any)
	created, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(metaObj["created"]))
	modified, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(metaObj["lastModified"]))
	if metaObj == nil || err1 != nil || err2 != nil {
		return "", m, nil, fileErr("%s: \"meta\" needs \"created\" and \"lastModified\" as RFC 3339 times", where)
	}
	m = store.Meta{Created: created.UTC(), LastModified: modified.UTC(), Version: 1}
	if v, ok := metaObj["version"]; ok {
		tag, _ := v.(string)
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(tag, `W/"`), `"`), 10, 64)
		if err != nil || n < 1 || tag != `W/"`+strconv.FormatInt(n, 10)+`"` {
			return "", m, nil, fileErr("%s: \"meta\".\"version\" is %v, not a version as scimd writes it (W/\"3\")", where, v)
		}
		m.Version = n
	}
	// An extension the target does not declare would be dropped without a word, as a SCIM
	// create drops attributes it does not know: refuse instead, data is not to be lost.
	for k, v := range body {
		if _, obj := v.(map[string]any); obj && strings.HasPrefix(strings.ToLower(k), "urn:") && rt.SchemaByURN(k) == nil {
			return "", m, nil, fileErr("%s has attributes of schema %q, which the target tenant does not have: give the server's schema file with --schemas", where, k)
		}
	}
	data, _, err := scim.NormalizeResource(rt, body)
	if err != nil {
		if e, ok := scim.AsError(err); ok {
			return "", m, nil, fileErr("%s: %s", where, e.Detail)
		}
		return "", m, nil, fileErr("%s: %v", where, err)
	}
	return id, m, data, nil
}

func importedUser(rt *scim.ResourceType, raw json.RawMessage, i int) (*store.User, error) {
	id, m, data, err := importedResource(rt, raw, fmt.Sprintf("users[%d]", i))
	if err != nil {
		return nil, err
	}
	return &store.User{ID: id, Data: data, Meta: m}, nil
}

func importedGroup(rt *scim.ResourceType, raw json.RawMessage, i int) (*store.ImportGroup, error) {
	where := fmt.Sprintf("groups[%d]", i)
	// The members are decoded apart, into ids alone: as generic JSON a group of 100,000
	// members took some 40 MB more to import.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fileErr("%s is not a JSON object", where)
	}
	var membersRaw json.RawMessage
	for k, v := range top {
		if strings.EqualFold(k, "members") {
			membersRaw = v
			delete(top, k)
		}
	}
	rest, err := json.Marshal(top)
	if err != nil {
		return nil, fileErr("%s: %v", where, err)
	}
	id, m, data, err := importedResource(rt, rest, where)
	if err != nil {
		return nil, err
	}
	g := &store.ImportGroup{Group: store.Group{ID: id, Data: data, Meta: m}}
	if membersRaw == nil || string(membersRaw) == "null" {
		return g, nil
	}
	var members []struct {
		Value string `json:"value"`
		Type  string `json:"type"`
	}
	if err := json.Unmarshal(membersRaw, &members); err != nil {
		return nil, fileErr("%s (id %s): \"members\" is not an array of objects with a \"value\": %v", where, id, err)
	}
	g.Members = make([]string, 0, len(members))
	for j, mem := range members {
		if mem.Value == "" {
			return nil, fileErr("%s (id %s): members[%d] has no \"value\" (the member's id)", where, id, j)
		}
		if mem.Type != "" && !strings.EqualFold(mem.Type, "User") {
			return nil, fileErr("%s (id %s): members[%d] is of type %q; only users are members", where, id, j, mem.Type)
		}
		g.Members = append(g.Members, mem.Value)
	}
	return g, nil
}
