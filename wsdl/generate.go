// Package wsdl holds tokenadmin's native SOAP contract: tokenadmin.wsdl
// (WSDL 1.1, document/literal wrapped, bound to SOAP 1.1 and SOAP 1.2, with
// its XML Schema embedded), helpers that serve it, and tokenadmin.go, the
// types, port interface and client that gowsdl generates from it.
//
// tokenadmin.go is generated: never edit it by hand. Change the WSDL and run
// `go generate ./wsdl`; a test fails when the two drift apart.
package wsdl

import _ "embed"

//go:generate go tool gowsdl -d .. -p wsdl -o tokenadmin.go tokenadmin.wsdl

// WSDL is the contract as served at GET ?wsdl, with the default address
// http://localhost:8080/services/TokenAdmin; see WithAddress. Treat it as
// read-only.
//
//go:embed tokenadmin.wsdl
var WSDL []byte
