package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Organization groups customers by listed address and by mail domain.
type Organization struct {
	Project string    `json:"project"`
	Name    string    `json:"name"`
	Domains []string  `json:"domains,omitempty"`
	Members []string  `json:"members,omitempty"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"`
}

// Has reports whether addr belongs to the organization.
func (o *Organization) Has(addr string) bool {
	addr = strings.ToLower(addr)
	if slices.Contains(o.Members, addr) {
		return true
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return slices.Contains(o.Domains, addr[i+1:])
	}
	return false
}

func orgKey(project, name string) []byte { return join([]byte(project), []byte(strings.ToLower(name))) }

// PutOrganization creates or replaces an organization.
func (tx *boltTx) PutOrganization(o *Organization) error {
	return tx.put(bOrgs, orgKey(o.Project, o.Name), o)
}

// Organization reads one; ErrNotFound when unknown.
func (tx *boltTx) Organization(project, name string) (*Organization, error) {
	var o Organization
	found, err := tx.get(bOrgs, orgKey(project, name), &o)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("organization %q: %w", name, ErrNotFound)
	}
	return &o, nil
}

// DeleteOrganization removes one.
func (tx *boltTx) DeleteOrganization(project, name string) error {
	return tx.btx.Bucket(bOrgs).Delete(orgKey(project, name))
}

// Organizations lists a project's organizations ("" = all).
func (tx *boltTx) Organizations(project string) ([]*Organization, error) {
	var out []*Organization
	err := tx.btx.Bucket(bOrgs).ForEach(func(k, v []byte) error {
		var o Organization
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("store: decode organization: %w", err)
		}
		if project == "" || o.Project == project {
			out = append(out, &o)
		}
		return nil
	})
	return out, err
}

// OrganizationOf returns the organization addr belongs to in project, or
// nil. An explicit member listing wins over a domain. An organization
// that does not decode is an error: it might be the one addr belongs to.
func (tx *boltTx) OrganizationOf(project, addr string) (*Organization, error) {
	orgs, err := tx.Organizations(project)
	if err != nil {
		return nil, err
	}
	var byDomain *Organization
	for _, o := range orgs {
		if slices.Contains(o.Members, strings.ToLower(addr)) {
			return o, nil
		}
		if byDomain == nil && o.Has(addr) {
			byDomain = o
		}
	}
	return byDomain, nil
}
