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
	RevokeFamilySQL       = revokeFamilySQL
	RevokeOneSQL          = revokeOneSQL
	AuthorizedAppsSQL     = authorizedAppsSQL
	NextTokenIDSQL        = nextTokenIDSQL
	SweepSQL              = sweepSQL
)
