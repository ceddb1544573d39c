package ticket

import "slices"

// Status categories: transitions are defined by category, so they keep
// working when a project renames its statuses.
const (
	CatNew       = "new"
	CatOpen      = "open"
	CatPending   = "pending"
	CatResolved  = "resolved"
	CatClosed    = "closed"
	CatCancelled = "cancelled"
)

// Status is one status a ticket can be in.
type Status struct {
	Name            string
	Category        string
	CustomerVisible bool
}

// DefaultStatuses is the list a project gets unless it configures its own.
var DefaultStatuses = []Status{
	{"new", CatNew, true},
	{"open", CatOpen, true},
	{"assigned", CatOpen, false},
	{"in_progress", CatOpen, false},
	{"waiting_for_customer", CatPending, true},
	{"resolved", CatResolved, true},
	{"closed", CatClosed, true},
	{"cancelled", CatCancelled, true},
}

// StatusByName finds a status of the default list.
func StatusByName(name string) (Status, bool) {
	i := slices.IndexFunc(DefaultStatuses, func(s Status) bool { return s.Name == name })
	if i < 0 {
		return Status{}, false
	}
	return DefaultStatuses[i], true
}

// firstOf returns the first status of a category.
func firstOf(cat string) string {
	for _, s := range DefaultStatuses {
		if s.Category == cat {
			return s.Name
		}
	}
	return cat
}

// isDone reports whether a status ends the work (resolved, closed or
// cancelled): a customer writing again reopens it.
func isDone(status string) bool {
	s, ok := StatusByName(status)
	return ok && (s.Category == CatResolved || s.Category == CatClosed || s.Category == CatCancelled)
}
