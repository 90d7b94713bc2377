package soap

import (
	"context"
	"encoding/xml"
	"time"

	"tokenadmin"
)

// AuditService is what the listAuditEvents operation needs of the domain;
// *tokenadmin.AuditService satisfies it. The error contract is
// TokenAdminService's: a *tokenadmin.Error (CodeForbidden for callers who
// are neither admins nor auditors, CodeInvalid, CodeInvalidPageToken, …)
// goes on the wire with its code and message; any other error is logged
// and answered with a generic Server fault.
type AuditService interface {
	// ListAuditEvents returns one page of the audit records matching f,
	// oldest first. f.PageSize 0 means the default size.
	ListAuditEvents(ctx context.Context, c tokenadmin.Caller, f tokenadmin.AuditFilter) (*tokenadmin.AuditPage, error)
}

// registerAuditOperations registers listAuditEvents. Like the app
// operations it is always registered, as the WSDL always describes it;
// while h.Audit is nil it answers an UnknownOperation Client fault.
func (h *TokenAdminHandler) registerAuditOperations() {
	h.Register(Operation{
		Name:   xml.Name{Space: TokenAdminNamespace, Local: "listAuditEvents"},
		Action: TokenAdminNamespace + ":listAuditEvents",
		Handle: func(ctx context.Context, req *Request, w *Writer) error {
			if h.Audit == nil {
				return tokenadmin.Errorf(CodeUnknownOperation, "operation listAuditEvents is not available: this server keeps no audit log")
			}
			return h.listAuditEvents(ctx, req, w)
		},
	})
}

var listAuditEventsFields = []string{"actor", "action", "since", "until", "pageSize", "pageToken"}

func (h *TokenAdminHandler) listAuditEvents(ctx context.Context, req *Request, w *Writer) error {
	var f [6]*Element
	d := decoder{op: req.Body}
	d.fields(listAuditEventsFields, f[:])
	filter := tokenadmin.AuditFilter{
		Actor:     d.str(f[0]),
		Action:    tokenadmin.AuditAction(d.str(f[1])),
		Since:     d.dateTime(f[2]),
		Until:     d.dateTime(f[3]),
		PageSize:  d.int(f[4], 1, tokenadmin.MaxAuditPageSize),
		PageToken: d.str(f[5]),
	}
	if d.err != nil {
		return d.err
	}
	page, err := h.Audit.ListAuditEvents(ctx, req.Caller, filter)
	if err != nil {
		return err
	}
	if page == nil {
		return errNoResult
	}
	w.Open("tns:listAuditEventsResponse")
	for _, e := range page.Events {
		if e != nil {
			writeAuditRecord(w, "tns:event", e)
		}
	}
	if page.NextPageToken != "" {
		w.Elem("tns:nextPageToken", page.NextPageToken)
	}
	w.Close("tns:listAuditEventsResponse")
	return nil
}

// writeAuditRecord writes a tns:AuditRecord, its elements in schema order.
func writeAuditRecord(w *Writer, name string, e *tokenadmin.AuditEvent) {
	w.Open(name)
	w.ElemInt("tns:seq", e.Seq)
	w.ElemTime("tns:time", e.Time)
	w.Elem("tns:actor", e.Actor)
	w.Elem("tns:role", string(e.Role))
	w.Elem("tns:clientAddr", e.ClientAddr)
	w.Elem("tns:requestId", e.RequestID)
	w.Elem("tns:action", string(e.Action))
	w.Elem("tns:target", e.Target)
	w.Elem("tns:outcome", string(e.Outcome))
	w.ElemInt("tns:count", int64(e.Count))
	w.Elem("tns:reason", e.Reason)
	w.Elem("tns:prevHash", e.PrevHash)
	w.Elem("tns:hash", e.Hash)
	w.Close(name)
}

// dateTime reads an xs:dateTime field (XML Schema part 2 §3.2.7) with a
// four-digit year; absent is the zero time. A time without a time zone is
// taken as UTC.
func (d *decoder) dateTime(e *Element) time.Time {
	s, ok := d.value(e)
	if !ok {
		return time.Time{}
	}
	s = collapse(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	d.fail(invalid("%s must be an xs:dateTime such as 2030-01-02T15:04:05Z", e.Name.Local))
	return time.Time{}
}
