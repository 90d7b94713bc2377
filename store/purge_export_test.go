package store

// PurgeStatements are one purge source's statements, for the query-plan
// test in package store_test.
type PurgeStatements struct{ Index, Key, Bound, Delete, Count string }

// PurgeSources returns the statements of every purge source.
func PurgeSources() (out []PurgeStatements) {
	for _, s := range purgeSources {
		b, d, c := purgeQueries(s)
		out = append(out, PurgeStatements{Index: s.index, Key: s.key, Bound: b, Delete: d, Count: c})
	}
	return out
}
