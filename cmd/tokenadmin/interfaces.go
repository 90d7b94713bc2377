package main

import (
	"tokenadmin/auth"
	"tokenadmin/soap"
)

// Where the adapters meet: WS-Security digest logins count towards the
// Authenticator's brute-force throttle and admin login audit only because
// it is a soap.LoginThrottle (WSSecurity finds it by type assertion).
var _ soap.LoginThrottle = (*auth.Authenticator)(nil)
