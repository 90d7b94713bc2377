// Package auth hashes passwords and authenticates callers by user name and
// password, as HTTP Basic credentials arrive.
//
// Passwords are hashed with argon2id at the OWASP minimum parameters
// (m=19 MiB, t=2, p=1) and stored as PHC strings. VerifyPassword parses
// those strictly and bounds their parameters, so a corrupt or hostile hash
// is an error rather than a gigabyte allocation.
//
// A verification costs tens of milliseconds of CPU, far too much for every
// request of a service that serves thousands per second, so an
// Authenticator remembers successful ones for CacheTTL. The cache is keyed
// by an HMAC, under a random per-process key, of the user name and
// password: it holds neither passwords nor unkeyed hashes of them, and a
// different password for the same user is simply a miss. Failed
// verifications (wrong password, unknown user) are remembered too, but only
// for FailureTTL (5 s), in a separate bounded map, so that a client
// repeating one wrong password costs no hashing and a flood of different
// ones cannot push out the successes; the right password, being another
// key, is never locked out. Errors other than a wrong credential are never
// remembered.
//
// Each argon2id verification allocates 19 MiB, so at most
// MaxConcurrentVerifications (GOMAXPROCS by default) run at once; other
// requests wait for a slot until their context ends, and look at the cache
// again once they have one, so parallel requests repeating one wrong
// password cost a single verification.
//
// Users change in other processes (the CLI) while the server runs, so the
// cache cannot be told about every change. Instead the UserStore keeps an
// epoch that changes with every change to any user; at most once per
// EpochCheckInterval one request reads it, while the others keep using the
// cache, and a changed epoch drops every entry. A changed password, role or
// deletion therefore takes effect within about EpochCheckInterval (plus the
// duration of that one read); so does a new password that was remembered
// as a failure. A verification that was in flight when the cache was
// dropped is not remembered, since it may have read the user before the
// change. If the epoch cannot be read the cache is dropped too.
//
// # Brute force
//
// Failed logins are throttled per user name (UserThrottle: 5 failures)
// and per client address (AddrThrottle: 30, as many people may share an
// address behind NAT; IPv6 addresses by /64); see Throttle. A locked name
// or address gets the wrong-password error for every attempt, at once and
// without a verification, so the right password fails too and the answer
// tells nothing about it. That is the "growing delay": no request sleeps
// (a sleeping request would hold a connection for the attacker); the
// client must wait out the lock, 1 s, then 2 s, 4 s, … up to 15 min with
// every further failure. Only verified failures count: a remembered
// failure (the same wrong password again) guesses nothing new, and an
// attempt refused by a lock checked nothing. Unknown users count like
// known ones, so a lock does not reveal whether a user exists.
//
// A lock also refuses remembered successes. An attacker who knows the
// password has no need of brute force, so this only costs the real user,
// who is locked out while someone guesses at their name: the classic
// trade-off of per-account locking. The per-address limit is what stops
// a single source; the per-user limit, kept short and growing, slows a
// distributed one. A verified success resets the user name's count (a
// remembered one does not: it is not a login); nothing resets an
// address's count but ForgetAfter, or one valid account would let an
// address guess at all the others.
//
// Every lock is logged as a warning (kind, key, user, client address,
// request id, failures, duration; never a password) and recorded in the
// audit log as tokenadmin.AuditLoginLocked. Admins' logins are audited
// too (tokenadmin.AuditLogin, success or denied), but only verified ones:
// a cache hit is not a login, or every Basic request would be one. The
// throttle bounds how many denied records an attacker can cause.
// ClientLimiter applies the same limits to OAuth client authentication.
// Logins verified outside Authenticate (WS-Security password digests)
// go through LoginAllowed and LoginChecked, so they are refused while
// locked, counted, and audited exactly like password logins.
package auth
