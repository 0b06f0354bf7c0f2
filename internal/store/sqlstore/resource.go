package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// scanResource reads the columns users and groups share: seq, id, created, modified,
// version and the JSON document, then any extra columns. With doc, the document is kept
// there as stored, undecoded; without, it is decoded into data.
func scanResource(sc interface{ Scan(...any) error }, id *string, meta *store.Meta, data *scim.Resource, doc *[]byte, extra ...any) (int64, error) {
	var seq, created, modified int64
	var b []byte
	if err := sc.Scan(append([]any{&seq, id, &created, &modified, &meta.Version, &b}, extra...)...); err != nil {
		return 0, err
	}
	meta.Created = time.Unix(0, created).UTC()
	meta.LastModified = time.Unix(0, modified).UTC()
	if doc != nil {
		*doc = b
		return seq, nil
	}
	d, err := decodeDoc(b)
	if err != nil {
		return 0, err
	}
	*data = d
	return seq, nil
}

// scanListed reads a listed resource: the columns of scanResource, then the list's sort key
// (null flag and key, see listPlan.keyColumns), which gives its position.
func scanListed(sc interface{ Scan(...any) error }, id *string, meta *store.Meta, data *scim.Resource, doc *[]byte) (int64, position, error) {
	var null int64
	var key any
	seq, err := scanResource(sc, id, meta, data, doc, &null, &key)
	if err != nil {
		return 0, position{}, err
	}
	return seq, positionOf(seq, null, key), nil
}

// docDest is where scanResource keeps an undecoded document: doc when raw, else nowhere
// (the document is decoded).
func docDest(doc *[]byte, raw bool) *[]byte {
	if raw {
		return doc
	}
	return nil
}

// checkNameFree looks up a unique, case-folded name with query (tenant, folded name) and
// returns conflict(id of its holder) when a resource other than exceptID holds it.
func checkNameFree(r runner, query, tenantID, fold, exceptID string, conflict func(id string) error) error {
	var id string
	err := r.queryRow(query, tenantID, fold).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && id == exceptID) {
		return nil
	}
	if err != nil {
		return err
	}
	return conflict(id)
}
