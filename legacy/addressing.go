package legacy

import (
	"strings"

	"tokenadmin/soap"
)

// SOAP header processing of the legacy dialect: WS-Addressing (Axis2's
// addressing module is engaged globally in Carbon, WIRE.md §4) and the
// mustUnderstand check Axis2's AxisEngine makes after dispatch.
//
// What is emitted, only when the request carried at least one
// WS-Addressing header block addressed to us (otherwise responses and
// faults are unchanged, with no soapenv:Header at all, as before):
//
//	<soapenv:Header xmlns:wsa="<the request's wsa namespace>">
//	  <wsa:To><anonymous URI of that namespace></wsa:To>   only if ReplyTo is absent or anonymous
//	  <wsa:Action>urn:<op>Response</wsa:Action>           a fault: the namespace's fault action
//	  <wsa:RelatesTo>request's MessageID</wsa:RelatesTo>  only if the request had a MessageID
//	</soapenv:Header>
//
// in Axis2's AddressingOutHandler order (To, …, Action, RelatesTo).
// Decisions, to stay minimal and deterministic:
//   - Both the 2005/08 (Final) and the 2004/08 (Submission) namespaces are
//     read; the answer uses the namespace the request used (Final when a
//     request mixes both, as Axis2's AddressingInHandler checks it first).
//   - No wsa:MessageID of our own (it would be random; WS-A makes it
//     optional for replies), no wsa:ReplyTo, no RelationshipType on
//     RelatesTo (reply is the default in both versions).
//   - A non-anonymous ReplyTo is not honoured (we never send to a third
//     address): the answer still goes back on the HTTP response, without
//     wsa:To. A missing wsa:Action is not faulted.
//   - The fault action is http://www.w3.org/2005/08/addressing/soap/fault
//     (Final) or http://schemas.xmlsoap.org/ws/2004/08/addressing/fault
//     (Submission); SOAP 1.2 fault media types then carry it as action=.
//   - Faults raised before the envelope is read (authentication, an
//     unparsable body) carry no wsa headers: we have not seen them yet.
//   - The wsa header blocks Axis2 processes (To, From, ReplyTo, FaultTo,
//     MessageID, RelatesTo, Action) are understood; any other header block
//     addressed to us (no actor/role, next, or ultimateReceiver) with
//     mustUnderstand "1"/"true" is the MustUnderstand fault, in Axis2's
//     form: soapenv:MustUnderstand, "Must Understand check failed for
//     header <namespace> : <local name>" (the first such block), HTTP 500.

const (
	nsWSA         = "http://www.w3.org/2005/08/addressing"
	nsWSASub      = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	wsaAnonFinal  = nsWSA + "/anonymous"
	wsaAnonSub    = nsWSASub + "/role/anonymous"
	wsaFaultFinal = nsWSA + "/soap/fault"
	wsaFaultSub   = nsWSASub + "/fault"
)

// wsaHeaders are the header blocks of WS-Addressing that are understood.
var wsaHeaders = map[string]bool{
	"To": true, "From": true, "ReplyTo": true, "FaultTo": true,
	"MessageID": true, "RelatesTo": true, "Action": true,
}

// addressing is what a request's WS-Addressing headers ask of the answer;
// nil when the request had none.
type addressing struct {
	ns        string // nsWSA or nsWSASub
	messageID string // "" when absent
	replyAnon bool   // ReplyTo absent or anonymous: answer with wsa:To anonymous
}

func (a *addressing) anonymous() string {
	if a.ns == nsWSASub {
		return wsaAnonSub
	}
	return wsaAnonFinal
}

func (a *addressing) faultAction() string {
	if a.ns == nsWSASub {
		return wsaFaultSub
	}
	return wsaFaultFinal
}

// writeHeader writes the soapenv:Header of an answer whose wsa:Action is
// action; nothing when a is nil.
func (a *addressing) writeHeader(b *soap.Writer, action string) {
	if a == nil {
		return
	}
	b.Begin("soapenv:Header")
	b.Attr("xmlns:wsa", a.ns)
	b.EndAttrs()
	if a.replyAnon {
		b.Elem("wsa:To", a.anonymous())
	}
	b.Elem("wsa:Action", action)
	if a.messageID != "" {
		b.Elem("wsa:RelatesTo", a.messageID)
	}
	b.Close("soapenv:Header")
}

// targeted reports whether header block h is for us, the ultimate
// receiver (Axiom's getHeadersToProcess with no role player): soap's rule.
func targeted(v version, h *soap.Element) bool {
	if v == soap11 {
		return soap.Targeted(soap.SOAP11, h)
	}
	return soap.Targeted(soap.SOAP12, h)
}

// readHeaders reads the request's header blocks (header may be nil): its
// WS-Addressing, then the mustUnderstand check. The fault, if any, is to
// be written with the addressing returned. wss tells whether wsse:Security
// blocks are understood (Handler.WSSecurity is set).
func readHeaders(v version, header *soap.Element, wss bool) (*addressing, *fault) {
	if header == nil {
		return nil, nil
	}
	var a *addressing
	for _, h := range header.Children {
		if !targeted(v, h) || (h.Name.Space != nsWSA && h.Name.Space != nsWSASub) {
			continue
		}
		if a == nil || (a.ns == nsWSASub && h.Name.Space == nsWSA) {
			a = &addressing{ns: h.Name.Space}
		}
	}
	if a != nil {
		a.replyAnon = true
		for _, h := range header.Children {
			if h.Name.Space != a.ns || !targeted(v, h) {
				continue
			}
			switch h.Name.Local {
			case "MessageID":
				a.messageID = strings.TrimSpace(h.Text)
			case "ReplyTo":
				for _, c := range h.Children {
					if c.Name.Space == a.ns && c.Name.Local == "Address" {
						addr := strings.TrimSpace(c.Text)
						a.replyAnon = addr == "" || addr == wsaAnonFinal || addr == wsaAnonSub
					}
				}
			}
		}
	}
	for _, h := range header.Children {
		if !targeted(v, h) {
			continue
		}
		mu, ok := h.AttrValue(v.ns(), "mustUnderstand")
		if !ok {
			continue
		}
		switch strings.TrimSpace(mu) {
		case "0", "false":
			continue
		case "1", "true":
		default:
			return a, genericFault("Invalid value found in mustUnderstand value of " + h.Name.Local + " header block")
		}
		if (h.Name.Space == nsWSA || h.Name.Space == nsWSASub) && wsaHeaders[h.Name.Local] {
			continue
		}
		if wss && h.Name == soap.SecurityHeaderName {
			continue
		}
		return a, &fault{code: codeMustUnderstand,
			message: "Must Understand check failed for header " + h.Name.Space + " : " + h.Name.Local}
	}
	return a, nil
}
