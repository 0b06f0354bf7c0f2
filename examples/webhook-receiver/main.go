// Command webhook-receiver is an application's endpoint for scimd's webhooks: it verifies
// each delivery, skips retries it has already handled, and reacts to the changes that
// matter to sessions and roles.
//
//	SCIMD_WEBHOOK_SECRET=whsec_… go run ./examples/webhook-receiver
//	scimd webhook add --tenant acme https://app.example.com/scimd
package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"os"
	"sync"

	"github.com/scimd/scimd/sdk"
)

func main() {
	secret := os.Getenv("SCIMD_WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("set SCIMD_WEBHOOK_SECRET to the secret scimd webhook add printed")
	}
	var mu sync.Mutex
	seen := map[string]bool{} // a real application keeps this in its database
	http.HandleFunc("POST /scimd", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		if err := sdk.Verify(secret, r.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev sdk.Event
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "not an event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		dup := seen[ev.ID]
		seen[ev.ID] = true
		mu.Unlock()
		if dup {
			w.WriteHeader(http.StatusNoContent) // a retry of an event already handled
			return
		}
		id, _ := ev.Data.Resource["id"].(string)
		switch ev.Type {
		case "user.created", "user.reactivated":
			log.Printf("tenant %s: user %s may sign in", ev.TenantID, id)
		case "user.deactivated", "user.deleted":
			log.Printf("tenant %s: end every session of user %s now", ev.TenantID, id)
		case "user.roles_changed":
			log.Printf("tenant %s: user %s roles %v -> %v", ev.TenantID, id, ev.Data.RolesBefore, ev.Data.RolesAfter)
		default:
			log.Printf("tenant %s: %s %s (seq %d)", ev.TenantID, ev.Type, id, ev.Seq)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	addr := ":8000"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	log.Printf("listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, nil))
}
