package ticket

import (
	"context"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// PutOrganization creates or replaces an organization of project.
func (e *Engine) PutOrganization(ctx context.Context, project, name string, domains, members []string, actor string) error {
	p := e.cfg().Project(project)
	if p == nil {
		return refused("no project %q", project)
	}
	if !p.IsStaff(strings.ToLower(actor)) {
		return refused("%s is not an agent or admin of %s", actor, p.Key)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return refused("an organization needs a name")
	}
	o := &store.Organization{Project: p.Key, Name: name, Created: e.now().UTC(), By: strings.ToLower(actor)}
	for _, d := range domains {
		d, err := config.OrgDomain(d)
		if err != nil {
			return refused("%v", err)
		}
		o.Domains = append(o.Domains, d)
	}
	for _, m := range members {
		m = strings.ToLower(strings.TrimSpace(m))
		if !strings.Contains(m, "@") || p.IsStaff(m) {
			return refused("%q cannot be a member", m)
		}
		o.Members = append(o.Members, m)
	}
	return e.store.Update(ctx, func(tx store.Tx) error { return tx.PutOrganization(o) })
}

// DeleteOrganization removes an organization (its shared tickets keep
// their history but nobody new sees them through it).
func (e *Engine) DeleteOrganization(ctx context.Context, project, name, actor string) error {
	p := e.cfg().Project(project)
	if p == nil || !p.IsStaff(strings.ToLower(actor)) {
		return refused("%s may not change organizations of %s", actor, project)
	}
	return e.store.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Organization(p.Key, name); err != nil {
			return err
		}
		return tx.DeleteOrganization(p.Key, name)
	})
}

// Share shares a request with an organization: its members may follow and
// write into it, and its listed members are told (organization_added).
func (e *Engine) Share(ctx context.Context, key, org, actor string) (int, error) {
	return e.change(ctx, key, actor, func(tx store.Tx, p *config.Project, t *store.Ticket, now time.Time, emit func(*Event) error) error {
		o, err := tx.Organization(p.Key, org)
		if err != nil {
			return err
		}
		return share(tx, t, o, actor, now, emit)
	})
}

// share shares t with o and tells o's listed members.
func share(tx store.Tx, t *store.Ticket, o *store.Organization, actor string, now time.Time, emit func(*Event) error) error {
	t.Organization, t.Private = o.Name, false
	if err := record(tx, &store.Event{Ticket: t.Key, Time: now, Kind: EvOrganizationAdded, Actor: actor, Organization: o.Name}); err != nil {
		return err
	}
	var to []string
	for _, m := range o.Members {
		if m != t.Reporter {
			to = append(to, m)
		}
	}
	return emit(&Event{Type: EvOrganizationAdded, Recipients: to})
}
