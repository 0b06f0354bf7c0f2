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
