package cli

import (
	"strings"
	"testing"
)

// TestWebhookCommands: webhook add prints the id and the generated secret (not a given
// one), refuses private targets unless allowed, and list, deliveries, replay and remove
// work on what it added.
func TestWebhookCommands(t *testing.T) {
	db := tempDB(t)
	ok(t, db, "tenant", "create", "acme")
	out := ok(t, db, "webhook", "add", "--tenant", "acme", "--types", "user.created,user.deleted", "https://app.example.com/scimd")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "wh_") || !strings.HasPrefix(lines[1], "secret: whsec_") {
		t.Fatalf("webhook add:\n%s", out)
	}
	id := lines[0]
	var added struct {
		ID, URL, Format, Secret string
		Types                   []string
		Created                 string
	}
	okJSON(t, db, &added, "webhook", "add", "--json", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "https://all.example.com/hook")
	if !strings.HasPrefix(added.ID, "wh_") || added.Secret != "" || added.Format != "webhook" || len(added.Types) != 0 {
		t.Fatalf("webhook add --json with a secret: %+v (a given secret is not printed back)", added)
	}
	fails(t, runMain(t, db, nil, "webhook", "add", "http://127.0.0.1:9/x"), "loopback, private or link-local", "a loopback target")
	ok(t, db, "webhook", "add", "--webhook-allow-private", "http://127.0.0.1:9/x")
	fails(t, runMain(t, db, nil, "webhook", "add", "--types", "user.exploded", "https://app.example.com/"), "unknown event type", "an unknown type")
	fails(t, runMain(t, db, nil, "webhook", "add", "--format", "set", "https://app.example.com/"), "security-events", "SETs without --security-events")

	out = ok(t, db, "webhook", "list", "--tenant", "acme")
	if !strings.Contains(out, id) || !strings.Contains(out, "user.created,user.deleted") || !strings.Contains(out, "(all)") || strings.Contains(out, "whsec_") {
		t.Fatalf("webhook list --tenant acme:\n%s", out)
	}
	out = ok(t, db, "webhook", "deliveries", id)
	if !strings.Contains(out, "STATUS") {
		t.Fatalf("webhook deliveries:\n%s", out)
	}
	ok(t, db, "webhook", "replay", id, "--from", "1")
	fails(t, runMain(t, db, nil, "webhook", "replay", added.ID, "--from", "1"), "name the tenant", "a replay of an all-tenants endpoint without a tenant")
	ok(t, db, "webhook", "replay", added.ID, "--from", "1", "--tenant", "acme")
	ok(t, db, "webhook", "remove", id)
	fails(t, runMain(t, db, nil, "webhook", "remove", id), "not found", "removing twice")
}
