package console

import (
	"html/template"
	"strings"
)

// idp is one identity provider's guide: steps in which {base}, {uid}, {user}, {password}
// and {bearer} are this tenant's values.
type idp struct {
	ID, Name string
	// Auth is how the identity provider authenticates: "basic" or "bearer".
	Auth  string
	Steps []string
}

var idps = []idp{
	{ID: "okta", Name: "Okta", Auth: "basic", Steps: []string{
		"In the Okta Admin Console, open your app integration, then General › App Settings › Edit: tick “Enable SCIM provisioning” and save.",
		"Open the Provisioning tab › Integration › Edit. SCIM connector base URL: {base}",
		"Unique identifier field for users: {uid}",
		"Supported provisioning actions: tick “Import New Users and Profile Updates”, “Push New Users”, “Push Profile Updates” and “Push Groups”.",
		"Authentication Mode: Basic Auth. Username: {user} Password: {password}",
		"Click “Test Connector Configuration”: Okta reads /Users and shows the actions it found. Then save.",
		"Provisioning › To App › Edit: enable “Create Users”, “Update User Attributes” and “Deactivate Users”, and save.",
		"Push Groups › Push Groups › Find groups by name: pick the groups that are roles in the application, and save.",
		"Assignments: assign the people and groups who use the application. Okta creates them here within a minute.",
	}},
	{ID: "entra", Name: "Microsoft Entra ID", Auth: "bearer", Steps: []string{
		"In the Microsoft Entra admin center: Enterprise applications › New application › Create your own application › “Integrate any other application you don't find in the gallery (Non-gallery)”.",
		"Open Provisioning › Get started, and set Provisioning Mode to Automatic.",
		"Tenant URL: {base}?aadOptscim062020",
		"Secret Token: {bearer}",
		"Click “Test Connection”, then save.",
		"Mappings: keep userPrincipalName → userName; check mail → emails[type eq \"work\"].value. Provision Microsoft Entra ID Groups if the application uses roles.",
		"Users and groups: assign who uses the application.",
		"Back in Provisioning, set Provisioning Status to On and save. Entra ID provisions every 40 minutes; “Provision on demand” tries one user now.",
	}},
	{ID: "jumpcloud", Name: "JumpCloud", Auth: "bearer", Steps: []string{
		"In the JumpCloud Admin Portal: SSO Applications › your application › Identity Management.",
		"Choose SCIM API type SCIM 2.0. Base URL: {base}",
		"Token Key: {bearer}",
		"Click “Test Connection”, then “Activate” and save.",
		"User Groups: bind the groups whose members use the application; their users and the groups are pushed here.",
	}},
	{ID: "onelogin", Name: "OneLogin", Auth: "bearer", Steps: []string{
		"In OneLogin Administration: Applications › Add App › “SCIM Provisioner with SAML (SCIM v2 Enterprise)”, and save.",
		"Configuration › SCIM Base URL: {base}",
		"SCIM Bearer Token: {bearer}",
		"Under API Connection, click “Enable”.",
		"Provisioning: tick “Enable provisioning” and choose what needs an administrator's approval, then save.",
		"Users (or Rules for roles): give the application to the people who use it.",
	}},
	{ID: "generic", Name: "Another SCIM 2.0 client", Auth: "basic", Steps: []string{
		"SCIM base URL: {base}",
		"Authentication, either Basic: user name {user} and password {password}",
		"or an OAuth bearer token: {bearer}",
		"Unique identifier: userName, set to the user's e-mail address ({uid}).",
		"Users at /Users, groups (roles) at /Groups; discovery at /ServiceProviderConfig, /ResourceTypes and /Schemas.",
	}},
}

// render fills a guide's steps with this tenant's values, escaped; secrets not yet minted
// say where they will come from.
func (g *idp) render(d setupData) []template.HTML {
	code := func(s string) string { return "<code>" + template.HTMLEscapeString(s) + "</code>" }
	pending := `<em class="pending">(made with the button below)</em>`
	user, password, bearer := pending, pending, pending
	if d.Minted {
		user, password, bearer = `<code id="cred-user">`+template.HTMLEscapeString(d.CredID)+`</code>`,
			`<code id="cred-password">`+template.HTMLEscapeString(d.Password)+`</code>`,
			`<code id="cred-bearer">`+template.HTMLEscapeString(d.Bearer)+`</code>`
	}
	r := strings.NewReplacer("{base}", code(d.BaseURL), "{uid}", code(d.UniqueID), "{user}", user, "{password}", password, "{bearer}", bearer)
	out := make([]template.HTML, len(g.Steps))
	for i, s := range g.Steps {
		out[i] = template.HTML(r.Replace(template.HTMLEscapeString(s)))
	}
	return out
}
