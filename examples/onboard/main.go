// Command onboard is what a SaaS backend does when a customer turns on provisioning: it
// finds or creates the customer's tenant in scimd, mints a SCIM credential, prints the
// values the customer's admin enters in Okta, and lists the users provisioned so far with
// their roles.
//
//	SCIMD_URL=http://localhost:8080 SCIMD_API_KEY=$(scimd apikey create --json | jq -r .key) \
//	  go run ./examples/onboard -customer cus_42 -name "Acme Corp"
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/scimd/scimd/sdk"
)

func main() {
	customer := flag.String("customer", "", "the application's own id of the customer")
	name := flag.String("name", "", "the customer's name (for a new tenant)")
	flag.Parse()
	if *customer == "" {
		log.Fatal("-customer is required")
	}
	c := sdk.New(os.Getenv("SCIMD_URL"), os.Getenv("SCIMD_API_KEY"))
	ctx := context.Background()

	tenant, err := c.TenantByExternalRef(ctx, *customer)
	if sdk.IsNotFound(err) {
		if *name == "" {
			*name = *customer
		}
		tenant, err = c.CreateTenant(ctx, sdk.TenantCreate{Name: *name, ExternalRef: *customer})
	}
	if err != nil {
		log.Fatalf("tenant: %v", err)
	}

	cred, err := c.MintCredential(ctx, tenant.ID)
	if err != nil {
		log.Fatalf("credential: %v", err)
	}
	conn, err := c.Connection(ctx, tenant.ID)
	if err != nil {
		log.Fatalf("connection: %v", err)
	}
	fmt.Printf(`Okta: Applications → your app → Provisioning → Integration → Enable API integration
  SCIM connector base URL:            %s
  Unique identifier field for users:  %s
  Authentication Mode:                Basic Auth
    Username:                         %s
    Password:                         %s
  (or HTTP Header, Bearer:            %s)
This secret is shown only now.

`, cred.SCIMBaseURL, conn.UniqueIdentifierField, cred.Username, cred.Password, cred.Bearer)

	fmt.Println("Users provisioned so far:")
	for u, err := range c.Users(ctx, tenant.ID, sdk.UserListOptions{}) {
		if err != nil {
			log.Fatalf("users: %v", err)
		}
		state := "active"
		if !u.Active {
			state = "inactive"
		}
		fmt.Printf("  %-40s %-8s roles: %s\n", u.UserName, state, strings.Join(u.Roles, ", "))
	}
}
