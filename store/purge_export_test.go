package store

// PurgeStatements are one purge source's statements, for the query-plan
// test in package store_test.
type PurgeStatements struct {
	Index, Key string
	Statements map[string]string // by name
}

// PurgeSources returns the statements of every purge source.
func PurgeSources() (out []PurgeStatements) {
	for _, s := range purgeSources {
		q := purgeQueries(s)
		out = append(out, PurgeStatements{Index: s.index, Key: s.key, Statements: map[string]string{
			"boundRange": q.boundRange, "delRange": q.delRange, "boundTie": q.boundTie, "delTie": q.delTie, "count": q.count,
		}})
	}
	return out
}
