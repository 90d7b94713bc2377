package soap

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"

	"tokenadmin"
)

// Codes of the SOAP layer. They travel in the fault detail like the
// domain's codes (tokenadmin.Code), and are part of the same public
// contract.
const (
	// CodeUnknownOperation: the Body's child names no operation of the
	// service (a Client/Sender fault).
	CodeUnknownOperation tokenadmin.Code = "UnknownOperation"
	// CodeActionMismatch: the SOAPAction header (SOAP 1.1) or action
	// parameter (SOAP 1.2) names another operation than the Body's child
	// (a Client/Sender fault; WS-I BP 1.1 R2744 ties the two together).
	CodeActionMismatch tokenadmin.Code = "ActionMismatch"
	// CodeVersionMismatch: the root is not a SOAP 1.1 or 1.2 Envelope
	// (faultcode VersionMismatch; SOAP 1.1 §4.4.1, SOAP 1.2 part 1 §5.4.7).
	CodeVersionMismatch tokenadmin.Code = "VersionMismatch"
	// CodeMustUnderstand: a mandatory header block addressed to us was not
	// understood (faultcode MustUnderstand; SOAP 1.1 §4.4.1, SOAP 1.2
	// part 1 §5.4.8).
	CodeMustUnderstand tokenadmin.Code = "MustUnderstand"
)

// faultClass is the SOAP fault code a fault is reported under.
type faultClass uint8

const (
	classClient          faultClass = iota // 1.1 soap:Client, 1.2 env:Sender
	classServer                            // 1.1 soap:Server, 1.2 env:Receiver
	classVersionMismatch                   // soap:VersionMismatch, env:VersionMismatch
	classMustUnderstand                    // soap:MustUnderstand, env:MustUnderstand
)

// fault is an error as it goes on the wire.
type fault struct {
	class   faultClass
	code    tokenadmin.Code // our detail code
	message string          // public; goes into faultstring/Reason and the detail
	status  int             // HTTP status, when the transport dictates one (401, 405, 413, 415)

	notUnderstood []xml.Name // MustUnderstand: the header blocks, for SOAP 1.2 NotUnderstood

	// wsse is set for WS-Security faults: the wsse fault code, written as
	// the SOAP 1.1 faultcode or the SOAP 1.2 Subcode (SOAP Message
	// Security 1.1 §12).
	wsse SecurityFaultCode
}

// faultFor maps an error to its fault. It is the one place where the error
// vocabulary meets the wire (house style #5): the codes a client can fix are
// Client/Sender faults carrying the code and public message; everything
// else, tokenadmin.CodeInternal and unknown codes included, is a
// Server/Receiver fault with a fixed text, and its cause must be logged.
func faultFor(err error) *fault {
	var se *SecurityError
	if errors.As(err, &se) {
		return &fault{class: classClient, code: tokenadmin.ErrorCode(se.Unwrap()), message: se.Message(), wsse: se.Code}
	}
	code := tokenadmin.ErrorCode(err)
	f := &fault{class: classClient, code: code, message: tokenadmin.ErrorMessage(err)}
	switch code {
	case tokenadmin.CodeInvalid,
		tokenadmin.CodeInvalidPageToken,
		tokenadmin.CodeTokenNotFound,
		tokenadmin.CodeNotFound,
		tokenadmin.CodeConflict,
		tokenadmin.CodeUnauthenticated,
		tokenadmin.CodeForbidden,
		CodeUnknownOperation,
		CodeActionMismatch:
	case CodeVersionMismatch:
		f.class = classVersionMismatch
	case CodeMustUnderstand:
		f.class = classMustUnderstand
		var mu *mustUnderstandError
		if errors.As(err, &mu) {
			f.notUnderstood = mu.headers
		}
	default:
		f.class = classServer
		f.code = tokenadmin.CodeInternal
		f.message = "internal error"
	}
	return f
}

// httpStatus is the status of a fault response. WS-I BP 1.1 R1126: a SOAP
// 1.1 fault is 500. SOAP 1.2 part 2 §7.5.2.2 (Table 20): env:Sender is 400,
// every other fault 500. Transport-level refusals keep their own status.
func (f *fault) httpStatus(v Version) int {
	switch {
	case f.status != 0:
		return f.status
	case v == SOAP12 && f.class == classClient:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// writeFault writes a whole fault envelope.
//
// SOAP 1.1 §4.4: soap:Fault with unqualified faultcode, faultstring (with
// xml:lang, which WS-I BP 1.1 R1016 requires receivers to accept) and
// detail. The detail is omitted for MustUnderstand, since it "MUST NOT be
// used to carry information about error information belonging to header
// entries".
//
// SOAP 1.2 part 1 §5.4: env:Code/env:Value, env:Reason/env:Text xml:lang,
// env:Detail; a MustUnderstand fault carries one env:NotUnderstood header
// block per block not understood (§5.4.8), a VersionMismatch fault an
// env:Upgrade block listing the envelopes we support (§5.4.7). The 1.1
// VersionMismatch fault carries the same Upgrade block, as SOAP 1.2
// Appendix A suggests.
func (s *Server) writeFault(w *Writer, v Version, f *fault) {
	vc := v.vocab()
	w.Raw(s.envelopeStart(v))
	switch {
	case f.class == classVersionMismatch:
		w.Open(vc.header)
		w.Raw(upgradeBlock)
		w.Close(vc.header)
	case f.class == classMustUnderstand && v == SOAP12:
		w.Open(vc.header)
		for i, n := range f.notUnderstood {
			p := "nu" + strconv.Itoa(i)
			w.Begin("env:NotUnderstood")
			if n.Space == "" {
				w.Attr("qname", n.Local)
			} else {
				w.Attr("qname", p+":"+n.Local)
				w.Attr("xmlns:"+p, n.Space)
			}
			w.SelfClose()
		}
		w.Close(vc.header)
	}
	w.Open(vc.body)
	w.Open(vc.fault)
	var code string
	switch f.class {
	case classClient:
		code = vc.client
	case classServer:
		code = vc.server
	case classVersionMismatch:
		code = vc.versionMismatch
	case classMustUnderstand:
		code = vc.mustUnderstand
	}
	detail := s.FaultDetail != nil && !(v == SOAP11 && f.class == classMustUnderstand)
	if v == SOAP11 {
		if f.wsse != "" {
			// The QName's prefix is declared on the element that holds it.
			w.Begin("faultcode")
			w.Attr("xmlns:wsse", NSWSSE)
			w.EndAttrs()
			w.Text("wsse:" + string(f.wsse))
			w.Close("faultcode")
		} else {
			w.Elem("faultcode", code)
		}
		w.Begin("faultstring")
		w.Attr("xml:lang", "en")
		w.EndAttrs()
		w.Text(f.message)
		w.Close("faultstring")
		if detail {
			w.Open("detail")
			s.FaultDetail(w, f.code, f.message)
			w.Close("detail")
		}
	} else {
		w.Open("env:Code")
		w.Elem("env:Value", code)
		if f.wsse != "" {
			w.Open("env:Subcode")
			w.Begin("env:Value")
			w.Attr("xmlns:wsse", NSWSSE)
			w.EndAttrs()
			w.Text("wsse:" + string(f.wsse))
			w.Close("env:Value")
			w.Close("env:Subcode")
		}
		w.Close("env:Code")
		w.Open("env:Reason")
		w.Begin("env:Text")
		w.Attr("xml:lang", "en")
		w.EndAttrs()
		w.Text(f.message)
		w.Close("env:Text")
		w.Close("env:Reason")
		if detail {
			w.Open("env:Detail")
			s.FaultDetail(w, f.code, f.message)
			w.Close("env:Detail")
		}
	}
	w.Close(vc.fault)
	w.Close(vc.body)
	w.Close(vc.envelope)
}

// upgradeBlock is the SOAP 1.2 Upgrade header block (SOAP 1.2 part 1
// §5.4.7), in order of preference.
const upgradeBlock = `<upg:Upgrade xmlns:upg="` + ns12 + `">` +
	`<upg:SupportedEnvelope qname="ns1:Envelope" xmlns:ns1="` + ns12 + `"/>` +
	`<upg:SupportedEnvelope qname="ns2:Envelope" xmlns:ns2="` + ns11 + `"/>` +
	`</upg:Upgrade>`
