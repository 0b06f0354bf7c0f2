package sqlstore

import (
	"database/sql"
	"errors"
	"time"

	"github.com/scimd/scimd/internal/scim"
	"github.com/scimd/scimd/internal/store"
)

// scanResource reads the columns users and groups share: seq, id, created, modified,
// version and the JSON document.
func scanResource(sc interface{ Scan(...any) error }, id *string, meta *store.Meta, data *scim.Resource) (int64, error) {
	var seq, created, modified int64
	var doc []byte
	if err := sc.Scan(&seq, id, &created, &modified, &meta.Version, &doc); err != nil {
		return 0, err
	}
	meta.Created = time.Unix(0, created).UTC()
	meta.LastModified = time.Unix(0, modified).UTC()
	d, err := decodeDoc(doc)
	if err != nil {
		return 0, err
	}
	*data = d
	return seq, nil
}

// scanListed reads a listed resource: the columns of scanResource, then the list's sort key
// (null flag and key, see listPlan.keyColumns). With raw, the JSON document is kept as
// stored, undecoded.
func scanListed(sc interface{ Scan(...any) error }, id *string, meta *store.Meta, data *scim.Resource, doc *[]byte, raw bool) (int64, position, error) {
	var seq, created, modified, null int64
	var key any
	var b []byte
	if err := sc.Scan(&seq, id, &created, &modified, &meta.Version, &b, &null, &key); err != nil {
		return 0, position{}, err
	}
	meta.Created = time.Unix(0, created).UTC()
	meta.LastModified = time.Unix(0, modified).UTC()
	if raw {
		*doc = b
	} else {
		d, err := decodeDoc(b)
		if err != nil {
			return 0, position{}, err
		}
		*data = d
	}
	return seq, positionOf(seq, null, key, ""), nil
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
