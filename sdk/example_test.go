package sdk_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/scimd/scimd/sdk"
)

// Onboard a customer: create its tenant and mint the credential its identity provider
// will use. The secret is in the result only; show it to the customer's admin once.
func ExampleClient_MintCredential() {
	c := sdk.New("https://scim.example.com", "scimd_key_….…")
	ctx := context.Background()
	t, err := c.CreateTenant(ctx, sdk.TenantCreate{Name: "Acme Corp", ExternalRef: "cus_42"})
	if err != nil {
		log.Fatal(err)
	}
	cred, err := c.MintCredential(ctx, t.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("SCIM base URL:", cred.SCIMBaseURL)
	fmt.Println("user name:", cred.Username, "password:", cred.Password)
}

// Iterate over every user holding a role; pages are fetched as the loop goes.
func ExampleClient_Users() {
	c := sdk.New("https://scim.example.com", "scimd_key_….…")
	for u, err := range c.Users(context.Background(), "tenant-id", sdk.UserListOptions{Role: "Admins"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.UserName, u.Active, u.Roles)
	}
}

// Sync: ask for the users changed since the last sync, in the order of their change.
func ExampleClient_ListUsers() {
	c := sdk.New("https://scim.example.com", "scimd_key_….…")
	since := time.Now().Add(-time.Hour)
	page, err := c.ListUsers(context.Background(), "tenant-id", sdk.UserListOptions{UpdatedSince: since})
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range page.Data {
		fmt.Println(u.ID, u.Updated)
	}
}

// Rotate a credential: the customer's admin pastes the new password into the identity
// provider within the day; until then the old one keeps working.
func ExampleClient_RotateCredential() {
	c := sdk.New("https://scim.example.com", "scimd_key_….…")
	cred, err := c.RotateCredential(context.Background(), "tenant-id", "scimd_0123456789abcdef01", 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new password:", cred.Password, "old one works until", cred.PreviousSecretExpiresAt)
}
