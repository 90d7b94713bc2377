package store

import "context"

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

// HoldWriter blocks the writer with a write of its own until release is
// called; writes submitted meanwhile queue up (QueuedWrites).
func (db *DB) HoldWriter() (release func()) {
	held, done := make(chan struct{}), make(chan struct{})
	go db.update(context.Background(), func(context.Context, conn) error { close(held); <-done; return nil })
	<-held
	return func() { close(done) }
}

// QueuedWrites is how many writes wait for the writer.
func (db *DB) QueuedWrites() int { return len(db.writes) }

// SetRestartFrames makes the checkpointer restart the WAL from n frames
// on, instead of walRestartFrames.
func (db *DB) SetRestartFrames(n int) {
	t := defaultCkptTuning
	t.restartFrames = n
	db.ckpt.tune.Store(&t)
}

// SyncFailed is syncFailed, for its test.
var SyncFailed = syncFailed
