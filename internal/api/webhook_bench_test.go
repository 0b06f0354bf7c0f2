package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd/internal/credential"
	"github.com/scimd/scimd/internal/scimclient"
	"github.com/scimd/scimd/internal/server"
	"github.com/scimd/scimd/internal/service"
	"github.com/scimd/scimd/internal/store"
	"github.com/scimd/scimd/internal/storetest"
)

// webhookBench is a scimd server with a tenant, and optionally one webhook endpoint on a
// loopback receiver that calls arrived for every delivery.
type webhookBench struct {
	idp *scimclient.Client
}

func startWebhookBench(b *testing.B, backend storetest.Backend, withWebhook bool, arrived func(body []byte)) *webhookBench {
	ctx := context.Background()
	st := backend.Open(b)
	full := storetest.StartFull(b, st, server.Options{UsageInterval: time.Hour, Webhooks: server.WebhookOptions{AllowPrivate: true}})
	tn, err := st.CreateTenant(ctx, store.Tenant{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	issued := credential.New(tn.ID, time.Now().UTC())
	if err := st.CreateCredential(ctx, issued.Credential); err != nil {
		b.Fatal(err)
	}
	if withWebhook {
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			if arrived != nil {
				arrived(body)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(rcv.Close)
		if _, _, err := full.Handler.Service.AddWebhook(ctx, serviceWebhook(tn.ID, rcv.URL)); err != nil {
			b.Fatal(err)
		}
	}
	idp := scimclient.New(full.URL, issued.Bearer)
	idp.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return &webhookBench{idp: idp}
}

// BenchmarkWebhookWriteOverhead: SCIM user creates by 8 concurrent clients, without and
// with one webhook endpoint attached (delivered to a loopback receiver meanwhile), in one
// run, so that the two figures compare:
//
//	go test ./internal/api -run '^$' -bench WebhookWriteOverhead -benchtime 2000x
func BenchmarkWebhookWriteOverhead(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		for _, with := range []bool{false, true} {
			name := backend.Name + "/no-webhook"
			if with {
				name = backend.Name + "/one-webhook"
			}
			b.Run(name, func(b *testing.B) {
				var delivered atomic.Int64
				wb := startWebhookBench(b, backend, with, func([]byte) { delivered.Add(1) })
				var n atomic.Int64
				b.SetParallelism(4) // 4 × GOMAXPROCS(2) = 8 clients
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						resp, err := wb.idp.Do(context.Background(), "POST", "/Users", map[string]any{"userName": fmt.Sprintf("u%d@bench.example", i)})
						if err != nil || resp.Status != 201 {
							b.Errorf("create: %v %v", err, resp)
							return
						}
					}
				})
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
				if with {
					b.ReportMetric(float64(delivered.Load()), "delivered-during-run")
				}
			})
		}
	}
}

// BenchmarkWebhookDelay: the time from a SCIM response to the webhook's arrival at a
// loopback receiver, one create at a time; reports p50 and p99.
//
//	go test ./internal/api -run '^$' -bench WebhookDelay -benchtime 500x
func BenchmarkWebhookDelay(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend.Name, func(b *testing.B) {
			var mu sync.Mutex
			arrivals := map[string]time.Time{}
			wb := startWebhookBench(b, backend, true, func(body []byte) {
				now := time.Now()
				mu.Lock()
				arrivals[string(body)] = now
				mu.Unlock()
			})
			delays := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name := fmt.Sprintf("d%d@bench.example", i)
				resp, err := wb.idp.Do(context.Background(), "POST", "/Users", map[string]any{"userName": name})
				if err != nil || resp.Status != 201 {
					b.Fatalf("create: %v %v", err, resp)
				}
				answered := time.Now()
				deadline := answered.Add(10 * time.Second)
				for {
					mu.Lock()
					var at time.Time
					for body, t := range arrivals {
						if containsName(body, name) {
							at = t
							delete(arrivals, body)
							break
						}
					}
					mu.Unlock()
					if !at.IsZero() {
						// A delivery can arrive before the client has read the response.
						delays = append(delays, max(at.Sub(answered), 0))
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("event of %s never arrived", name)
					}
					time.Sleep(100 * time.Microsecond)
				}
			}
			b.StopTimer()
			slices.Sort(delays)
			b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func containsName(body, name string) bool {
	return len(body) > 0 && stringsContains(body, `"userName":"`+name+`"`)
}

func stringsContains(s, sub string) bool { return strings.Contains(s, sub) }

func serviceWebhook(tenantID, url string) service.WebhookInput {
	return service.WebhookInput{TenantID: tenantID, URL: url}
}
