package admin

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ticketgate/ticketgate/config"
)

// TestRouteWithoutScopeRefused: a call added without declaring who may
// use it is refused to everyone, an operator included, instead of being
// open to every agent of every project.
func TestRouteWithoutScopeRefused(t *testing.T) {
	c := config.Default()
	c.Projects = []config.Project{{Key: "ACME", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}}}
	c.Admin.Operators = []string{"alice@example.com"}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"token-of-alice-0123456789": "alice@example.com"}
	s := NewServer(nil, func() *config.Config { return c }, Options{Tokens: func() map[string]string { return tokens }}, slog.New(slog.DiscardHandler))
	reached := false
	s.mux.HandleFunc("GET /api/new-thing", func(http.ResponseWriter, *http.Request) { reached = true })
	for path, want := range map[string]int{"/api/new-thing": http.StatusForbidden, "/api/version": http.StatusOK, "/api/nothing-here": http.StatusNotFound} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer token-of-alice-0123456789")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
	if reached {
		t.Error("the unscoped route ran")
	}
}
