// Package soap adapts tokenadmin to SOAP 1.1 and SOAP 1.2 over HTTP.
//
// It has two layers. The engine (Server, in engine.go, envelope.go,
// fault.go, xmltree.go and xmlwriter.go) knows SOAP and nothing of tokens:
// it checks, parses and dispatches document/literal wrapped requests to
// registered Operations, and writes their responses and faults. Services
// are built on it: TokenAdminHandler (tokenadmin.go) serves the native
// contract of wsdl/tokenadmin.wsdl; later services, such as the legacy
// WSO2 Axis2 ones, register their own operations and header processors.
//
// # Request processing
//
// Requests are untrusted, so the Server refuses them as early and as
// cheaply as it can, in this order:
//
//  1. Method: POST; GET (and HEAD) only for ?wsdl, which is public.
//     Anything else is 405 with an Allow header.
//  2. SOAP version from the media type: text/xml is SOAP 1.1 with the
//     SOAPAction header (SOAP 1.1 §6.1.1), application/soap+xml is SOAP 1.2
//     with its action parameter (SOAP 1.2 part 2 §7.1.4, RFC 3902). Any
//     other media type is 415; a charset other than UTF-8 a Client fault.
//  3. HTTP Basic credentials through the Authenticator, before the body is
//     read: 401 with a WWW-Authenticate challenge when missing or wrong.
//  4. The body, capped at MaxBodyBytes (413 beyond).
//  5. XML, parsed from encoding/xml's token stream into a small tree under
//     Limits (depth, element count, attributes, text), with no document
//     type declaration (so no entities), UTF-8 only.
//  6. The Envelope: its namespace selects the version; an unknown one is a
//     VersionMismatch fault (SOAP 1.1 §4.4.1, SOAP 1.2 part 1 §5.4.7), one
//     that disagrees with the media type a Client fault.
//  7. Optional Header, exactly one Body, nothing after it (WS-I BP 1.1
//     R1011), exactly one element in the Body.
//  8. Header blocks: a mandatory block addressed to us that no HeaderFunc
//     handles is a MustUnderstand fault (SOAP 1.1 §4.2.3, SOAP 1.2 part 1
//     §5.2.3, §5.4.8); other blocks are ignored.
//  9. Dispatch on the Body child's {namespace}localName (UnknownOperation),
//     then the action, which must name the same operation when given
//     (ActionMismatch).
//  10. The operation decodes its fields strictly and calls the service.
//
// # Faults
//
// Errors are tokenadmin errors, mapped to faults in one function
// (faultFor). Codes a client can act on (tokenadmin's InvalidRequest,
// InvalidPageToken, TokenNotFound, NotFound, Conflict, Unauthenticated,
// Forbidden, and this package's UnknownOperation and ActionMismatch) are
// SOAP 1.1 Client / SOAP 1.2 Sender faults; anything else is a Server /
// Receiver fault saying only "internal error", the cause being logged with
// a request id. Every fault carries a detail entry written by
// Server.FaultDetail; for TokenAdmin, tns:tokenAdminFault with the code and
// the public message. SOAP 1.1 faults are HTTP 500 (WS-I BP 1.1 R1126);
// SOAP 1.2 Sender faults 400 and others 500 (SOAP 1.2 part 2 §7.5.2.2),
// except refusals at the HTTP level (401, 405, 413, 415).
//
// # Responses
//
// Envelopes are written by hand with Writer, not by encoding/xml
// reflection: the prefixes are fixed (soap or env for the envelope, tns for
// urn:tokenadmin:v1, declared on the Envelope), required elements are
// written even when false or zero, dateTimes are UTC with whole seconds
// and a Z, and the same input always gives the same bytes.
package soap
