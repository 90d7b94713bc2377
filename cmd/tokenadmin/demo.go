package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"tokenadmin"
	"tokenadmin/auth"
	"tokenadmin/store"
)

// Demo data, seeded once per database by serve --demo.
const (
	demoUser     = "alice"
	demoPassword = "alice-demo-password"
)

var demoApps = []tokenadmin.App{
	{ClientID: "demo-portal", Name: "Demo Portal", Owner: "admin"},
	{ClientID: "demo-mobile", Name: "Demo Mobile App", Owner: "admin"},
}

// seedDemo adds a demo user and apps with a few tokens, unless they exist,
// and prints curl calls that work against this server as they are.
func seedDemo(ctx context.Context, db *store.DB, baseURL string, stdout io.Writer) error {
	if _, err := db.GetUser(ctx, demoUser); tokenadmin.ErrorCode(err) == tokenadmin.CodeNotFound {
		hash, err := auth.HashPassword(demoPassword)
		if err != nil {
			return err
		}
		if err := db.CreateUser(ctx, tokenadmin.User{Name: demoUser, Role: tokenadmin.RoleUser, PasswordHash: hash}); err != nil {
			return err
		}
		for _, a := range demoApps {
			if _, err := db.CreateApp(ctx, a); err != nil && tokenadmin.ErrorCode(err) != tokenadmin.CodeConflict {
				return err
			}
			for range 2 {
				_, err := db.IssueTokens(ctx, tokenadmin.IssueRequest{
					ClientID: a.ClientID, User: demoUser, Scopes: []string{"openid", "profile"},
					GrantType: "password", AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour,
				})
				if err != nil {
					return err
				}
			}
		}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `
Demo ready: user %[2]s (password %[3]s) holds tokens for two apps.
List them:

curl -s -u %[2]s:%[3]s -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "urn:tokenadmin:v1:listActiveTokens"' %[1]s/services/TokenAdmin \
  --data '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><soap:Body><t:listActiveTokens/></soap:Body></soap:Envelope>'

Remove the Demo Portal app from alice's authorized apps:

curl -s -u %[2]s:%[3]s -H 'Content-Type: text/xml; charset=utf-8' \
  -H 'SOAPAction: "urn:tokenadmin:v1:revokeTokens"' %[1]s/services/TokenAdmin \
  --data '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:tokenadmin:v1"><soap:Body><t:revokeTokens><t:clientId>demo-portal</t:clientId><t:reason>demo</t:reason></t:revokeTokens></soap:Body></soap:Envelope>'

WSDL: %[1]s/services/TokenAdmin?wsdl
`, baseURL, demoUser, demoPassword)
	return nil
}
