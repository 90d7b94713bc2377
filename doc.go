// Package tokenadmin is the domain of the token administration service:
// the tokens, apps and users it manages, the filters and results of its
// operations, the Service that applies the access rules, and the error
// vocabulary every adapter maps onto its own wire format.
//
// Adapters live in subpackages named after their technology: store (SQLite),
// soap (SOAP 1.1/1.2 over HTTP), wsdl (the contract and its generated code),
// and cmd/tokenadmin wires them together. They talk to one another only in
// terms of the types declared here.
package tokenadmin
