package store

// The store's statements, for the query-plan test in package store_test.
var (
	ListQuery   = listQuery
	BulkQueries = bulkQueries
)

const (
	TokenColumns          = tokenColumns
	GetTokenSQL           = getTokenSQL
	RevokeLookupByIDSQL   = revokeLookupByIDSQL
	RevokeLookupByHashSQL = revokeLookupByHashSQL
	RevokeLookupByExtSQL  = revokeLookupByExtSQL
	LookupTokenByExtSQL   = lookupTokenByExtHashSQL
	LookupTokenSQL        = lookupTokenSQL
	RefreshLookupSQL      = refreshLookupSQL
	RevokeFamilySQL       = revokeFamilySQL
	RevokeOneSQL          = revokeOneSQL
	AuthorizedAppsSQL     = authorizedAppsSQL
	NextTokenIDSQL        = nextTokenIDSQL
	SweepSQL              = sweepSQL
)

// SetSyncHook makes fn run before every WAL sync (its error fails the sync).
// Set it before the first write.
func (db *DB) SetSyncHook(fn func() error) { db.syncHook = fn }
