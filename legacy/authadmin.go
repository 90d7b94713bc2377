package legacy

import (
	"context"
	"errors"
	"log/slog"

	"tokenadmin"
	"tokenadmin/soap"
)

// nsAuthAdmin is AuthenticationAdmin's namespace, of its wrappers too: the
// service has no schemaNamespace override (WIRE.md §3).
const nsAuthAdmin = "http://authentication.services.core.carbon.wso2.org"

func (h *Handler) authenticationAdmin() *service {
	s := &service{name: AuthenticationAdmin, wrapperNS: nsAuthAdmin, anonymous: true, h: h,
		wsdl: authAdminWSDL(h.profile)}
	s.add(&operation{name: "login", handle: h.login})
	s.add(&operation{name: "logout", inOnly: true, handle: h.logout})
	return s
}

// authAdminWSDL is AuthenticationAdmin's description for profile p: its
// own if it has one, else is-5.3's, as the service has the same shape in
// every generation (WIRE.md §5.4).
func authAdminWSDL(p Profile) []byte {
	if b := profileWSDL(p, AuthenticationAdmin); b != nil {
		return b
	}
	return profileWSDL(IS53, AuthenticationAdmin)
}

// login checks username and password and, when they are right, starts a
// session and sets its cookie; later calls carrying the cookie need no
// Basic header. Wrong or missing credentials answer false, not a fault.
// remoteAddress is accepted and ignored. Any session the request carried
// is ended first, so a login always gets a fresh id (no session fixation).
// A user deleted or given another role between the password check and the
// session's creation answers false too (Sessions.Create).
func (h *Handler) login(ctx context.Context, x *call, wrapper *soap.Element, w *soap.Writer) error {
	text := func(name string) string {
		if c := childByName(wrapper, name); c != nil && !c.IsNil() {
			return c.Text
		}
		return ""
	}
	user, password := text("username"), text("password")
	for _, c := range x.r.CookiesNamed(SessionCookie) {
		h.sessions.Delete(c.Value)
	}
	ok := false
	if user != "" && password != "" && h.auth != nil {
		caller, err := h.auth.Authenticate(ctx, user, password)
		switch tokenadmin.ErrorCode(err) {
		case "":
			switch err := h.startSession(x.w, x.r, caller); {
			case errors.Is(err, errUserChanged):
			case err != nil:
				return err
			default:
				ok = true
			}
		case tokenadmin.CodeUnauthenticated:
			if ri := tokenadmin.RequestInfoFrom(ctx); ri != nil {
				ri.Outcome = "login_failed" // answered false, not a fault
			}
		default:
			return err
		}
		if ok {
			if ri := tokenadmin.RequestInfoFrom(ctx); ri != nil {
				ri.Caller = caller
			}
		}
	}
	w.Raw(`<ns:loginResponse xmlns:ns="` + nsAuthAdmin + `">`)
	w.ElemBool("ns:return", ok)
	w.Raw(`</ns:loginResponse>`)
	return nil
}

// logout ends the session of the request's cookie, if any. It is in-only:
// HTTP 202, no body.
func (h *Handler) logout(ctx context.Context, x *call, _ *soap.Element, _ *soap.Writer) error {
	for _, c := range x.r.CookiesNamed(SessionCookie) {
		h.sessions.Delete(c.Value)
	}
	h.logger().LogAttrs(ctx, slog.LevelDebug, "legacy: logout")
	return nil
}
