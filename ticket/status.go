package ticket

import (
	"github.com/ticketgate/ticketgate/config"
)

// Status categories (see config): transitions are defined by category, so
// they keep working when a project renames its statuses.
const (
	CatNew       = config.CatNew
	CatOpen      = config.CatOpen
	CatPending   = config.CatPending
	CatResolved  = config.CatResolved
	CatClosed    = config.CatClosed
	CatCancelled = config.CatCancelled
)

// categoryOf returns the category of a status of p ("" for a status the
// project no longer lists).
func categoryOf(p *config.Project, status string) string {
	s, ok := p.Status(status)
	if !ok {
		return ""
	}
	return s.Category
}

// firstOf returns the first status of a category of p; cancelled falls
// back to closed.
func firstOf(p *config.Project, cat string) string {
	if s := p.FirstOf(cat); s != "" {
		return s
	}
	if cat == CatCancelled {
		return p.FirstOf(CatClosed)
	}
	return cat
}

// isDone reports whether a status ends the work (resolved, closed or
// cancelled): a customer writing again reopens it.
func isDone(p *config.Project, status string) bool {
	switch categoryOf(p, status) {
	case CatResolved, CatClosed, CatCancelled:
		return true
	}
	return false
}

// isFinal reports whether a status is closed or cancelled.
func isFinal(p *config.Project, status string) bool {
	switch categoryOf(p, status) {
	case CatClosed, CatCancelled:
		return true
	}
	return false
}
