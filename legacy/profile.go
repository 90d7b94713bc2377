package legacy

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"tokenadmin"
	"tokenadmin/soap"
)

// What changes between WSO2 generations is data, here (WIRE.md §2.1, §5,
// §5.1, §5.6); the operations read it through Handler.spec and never
// switch on the profile themselves.

// profileSpec is one generation's wire.
type profileSpec struct {
	// appFields is OAuthConsumerAppDTO's xs:sequence, in the order of
	// that generation's stub WSDL (not always alphabetical: 2017-12).
	// How each field is written and read is dtoFieldKinds' and
	// appView's business; a field neither knows is a nil string.
	appFields []string
	// appOps are the application operations the generation has
	// (oauthapps.go); getAppsAuthorizedByUser and
	// revokeAuthzForAppsByResoureOwner are in every one.
	appOps []string
	// inOnlyVoid: void operations are robust in-only (2014 to mid-2016):
	// HTTP 202 with no body, and their faults carry no typed detail.
	// Otherwise they are in-out and answer a nil return (2016-12 on).
	inOnlyVoid bool
	// appException is the declared fault of the application operations:
	// excOAuthAdminService (2014: Exception{Message}) or
	// excIdentityOAuthAdmin.
	appException exceptionKind
	// errorCode: IdentityOAuthAdminException has its errorCode property
	// (2016-12 on; empty before).
	errorCode bool
}

type exceptionKind uint8

const (
	excIdentityOAuthAdmin exceptionKind = iota // OAuthAdminServiceIdentityOAuthAdminException
	excOAuthAdminService                       // OAuthAdminServiceException{Message}
)

// voidOps are the operations whose Java method returns nothing.
var voidOps = []string{
	"registerOAuthApplicationData", "updateConsumerApplication", "removeOAuthApplicationData",
	"updateConsumerAppState", "updateOauthSecretKey",
}

// Application operations per era (WIRE.md §2.1). Operations that later
// generations add beyond these (2018-08's registerAndRetrieve…, scopes,
// …) are not served.
var (
	appOps2014 = []string{
		"registerOAuthConsumer", "getAllOAuthApplicationData", "getOAuthApplicationData",
		"registerOAuthApplicationData", "updateConsumerApplication", "removeOAuthApplicationData",
		"getAllowedGrantTypes",
	}
	appOps2016 = append(slices.Clip(appOps2014),
		"getOAuthApplicationDataByAppName", "getOauthApplicationState", "updateConsumerAppState",
		"updateOauthSecretKey", "isPKCESupportEnabled")
)

// profiles are the supported generations.
var profiles = map[Profile]*profileSpec{
	IS50: {
		appFields: []string{"OAuthVersion", "applicationName", "callbackUrl", "grantTypes",
			"oauthConsumerKey", "oauthConsumerSecret", "username"},
		appOps:       appOps2014,
		inOnlyVoid:   true,
		appException: excOAuthAdminService,
	},
	IS53: {
		appFields: []string{"OAuthVersion", "applicationName", "callbackUrl", "grantTypes",
			"oauthConsumerKey", "oauthConsumerSecret", "pkceMandatory", "pkceSupportPlain", "state", "username"},
		appOps:    appOps2016,
		errorCode: true,
	},
	IS55: {
		// 2017-12: audiences sits after callbackUrl, out of alphabetical order.
		appFields: []string{"OAuthVersion", "applicationAccessTokenExpiryTime", "applicationName", "callbackUrl",
			"audiences", "grantTypes", "oauthConsumerKey", "oauthConsumerSecret", "pkceMandatory", "pkceSupportPlain",
			"refreshTokenExpiryTime", "state", "userAccessTokenExpiryTime", "username"},
		appOps:    appOps2016,
		errorCode: true,
	},
	IS57: {
		appFields: []string{"OAuthVersion", "applicationAccessTokenExpiryTime", "applicationName", "audiences",
			"backChannelLogoutUrl", "bypassClientCredentials", "callbackUrl", "grantTypes",
			"idTokenEncryptionAlgorithm", "idTokenEncryptionEnabled", "idTokenEncryptionMethod", "idTokenExpiryTime",
			"oauthConsumerKey", "oauthConsumerSecret", "pkceMandatory", "pkceSupportPlain", "refreshTokenExpiryTime",
			"requestObjectSignatureValidationEnabled", "scopeValidators", "state", "tokenType",
			"userAccessTokenExpiryTime", "username"},
		appOps:    appOps2016,
		errorCode: true,
	},
}

// supportedProfiles lists the profiles, for messages.
func supportedProfiles() string {
	var s []string
	for p := range profiles {
		s = append(s, string(p))
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// dtoFieldKind is how an OAuthConsumerAppDTO property is typed on the
// wire: nillable string (the default), non-nillable boolean or long, or
// an unbounded string array (no element when empty).
type dtoFieldKind uint8

const (
	fieldString dtoFieldKind = iota
	fieldBool
	fieldLong
	fieldArray
)

var dtoFieldKinds = map[string]dtoFieldKind{
	"pkceMandatory": fieldBool, "pkceSupportPlain": fieldBool, "bypassClientCredentials": fieldBool,
	"idTokenEncryptionEnabled": fieldBool, "requestObjectSignatureValidationEnabled": fieldBool,
	"applicationAccessTokenExpiryTime": fieldLong, "userAccessTokenExpiryTime": fieldLong,
	"refreshTokenExpiryTime": fieldLong, "idTokenExpiryTime": fieldLong,
	"audiences": fieldArray, "scopeValidators": fieldArray,
}

// appView is what an OAuthConsumerAppDTO shows of an app. Strings left
// empty are nil; lifetimes are in milliseconds, 0 for the server's
// default (tokenadmin.App's 0), which a client may send back unchanged.
type appView struct {
	strings             map[string]string // by field name
	accessMS, refreshMS int64
}

// newAppView is the DTO of a; oauthVersion and state are left out for
// getAppsAuthorizedByUser, as WSO2 does there.
func newAppView(a *tokenadmin.App, secret string, full bool) appView {
	v := appView{strings: map[string]string{
		"applicationName":     a.Name,
		"grantTypes":          strings.Join(a.GrantTypes, " "),
		"oauthConsumerKey":    a.ClientID,
		"oauthConsumerSecret": secret,
		"username":            a.Owner,
	}}
	if full {
		v.strings["OAuthVersion"] = oauthVersion2
		v.strings["state"] = wso2State(a.State)
	}
	v.accessMS, v.refreshMS = a.AccessTTL.Milliseconds(), a.RefreshTTL.Milliseconds()
	return v
}

// writeAppDTO writes v as a <ns:return> OAuthConsumerAppDTO with the
// profile's fields, in its order (WIRE.md §5.1, §8.1).
func (p *profileSpec) writeAppDTO(w *soap.Writer, v appView) {
	beginBean(w, "OAuthConsumerAppDTO")
	for _, f := range p.appFields {
		switch dtoFieldKinds[f] {
		case fieldBool:
			w.ElemBool(prefixDTO+":"+f, false)
		case fieldLong:
			var n int64
			switch f {
			case "applicationAccessTokenExpiryTime", "userAccessTokenExpiryTime":
				n = v.accessMS
			case "refreshTokenExpiryTime":
				n = v.refreshMS
			}
			w.Elem(prefixDTO+":"+f, strconv.FormatInt(n, 10))
		case fieldArray:
			// always empty: no element
		default:
			strElem(w, f, v.strings[f])
		}
	}
	w.Close("ns:return")
}

func (p *profileSpec) hasField(name string) bool { return slices.Contains(p.appFields, name) }

// lifetimes reads the DTO's token lifetimes, when the generation has
// them: milliseconds, whole seconds, 0 for the server's default, never
// negative. applicationAccessTokenExpiryTime and userAccessTokenExpiryTime
// both set the one access-token lifetime an app has here; if both are
// non-zero they must agree. Absent or nil fields leave it unchanged (nil).
func (p *profileSpec) lifetimes(e *soap.Element) (access, refresh *time.Duration, err error) {
	if !p.hasField("userAccessTokenExpiryTime") {
		return nil, nil, nil
	}
	read := func(name string) (*time.Duration, error) {
		s, ok := text(e, name)
		if !ok {
			return nil, nil
		}
		ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, clientError(name + " must be a number of milliseconds: " + s)
		}
		if ms < 0 || ms%1000 != 0 || ms > int64(time.Duration(1<<62)/time.Millisecond) {
			return nil, clientError(name + " must be whole seconds in milliseconds, 0 (the server's default) or more: " + s)
		}
		d := time.Duration(ms) * time.Millisecond
		return &d, nil
	}
	app, err := read("applicationAccessTokenExpiryTime")
	if err != nil {
		return nil, nil, err
	}
	user, err := read("userAccessTokenExpiryTime")
	if err != nil {
		return nil, nil, err
	}
	refresh, err = read("refreshTokenExpiryTime")
	if err != nil {
		return nil, nil, err
	}
	switch {
	case app == nil || *app == 0 && user != nil:
		access = user
	case user == nil || *user == 0:
		access = app
	case *app != *user:
		return nil, nil, clientError("applicationAccessTokenExpiryTime and userAccessTokenExpiryTime differ: tokenadmin has one access-token lifetime per app")
	default:
		access = user
	}
	return access, refresh, nil
}
