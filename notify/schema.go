package notify

import (
	"strings"

	"github.com/ticketgate/ticketgate/templates"
)

// dataFields are the fields of data that compiled templates read without
// reflection (templates.Schema), by their path as a template names it.
// TestDataFields holds every getter to what reflection (text/template)
// finds on the same data; a field not listed leaves the templates that
// name it to text/template and html/template.
var dataFields = map[string]struct {
	get  func(d *data) (templates.Value, bool)
	kind templates.Kind
}{
	"Project":           {func(*data) (templates.Value, bool) { return structVal(true) }, templates.KindStruct},
	"Project.Key":       {func(d *data) (templates.Value, bool) { return str(d.Project.Key) }, templates.KindString},
	"Project.Name":      {func(d *data) (templates.Value, bool) { return str(d.Project.Name) }, templates.KindString},
	"Project.Address":   {func(d *data) (templates.Value, bool) { return str(d.Project.Address) }, templates.KindString},
	"Ticket":            {func(*data) (templates.Value, bool) { return structVal(true) }, templates.KindStruct},
	"Ticket.Key":        {func(d *data) (templates.Value, bool) { return str(d.Ticket.Key) }, templates.KindString},
	"Ticket.Subject":    {func(d *data) (templates.Value, bool) { return str(d.Ticket.Subject) }, templates.KindString},
	"Ticket.Status":     {func(d *data) (templates.Value, bool) { return str(d.Ticket.Status) }, templates.KindString},
	"Ticket.Reporter":   {func(d *data) (templates.Value, bool) { return str(d.Ticket.Reporter) }, templates.KindString},
	"Ticket.Assignee":   {func(d *data) (templates.Value, bool) { return str(d.Ticket.Assignee) }, templates.KindString},
	"Recipient":         {func(*data) (templates.Value, bool) { return structVal(true) }, templates.KindStruct},
	"Recipient.Address": {func(d *data) (templates.Value, bool) { return str(d.Recipient.Address) }, templates.KindString},
	"Recipient.Name":    {func(d *data) (templates.Value, bool) { return str(d.Recipient.Name) }, templates.KindString},
	"Message":           {func(d *data) (templates.Value, bool) { return structVal(d.Message != nil) }, templates.KindStruct},
	"Message.FromDisplay": {func(d *data) (templates.Value, bool) {
		if d.Message == nil {
			return templates.Value{}, false
		}
		return str(d.Message.FromDisplay)
	}, templates.KindString},
	"Message.Text": {func(d *data) (templates.Value, bool) {
		if d.Message == nil {
			return templates.Value{}, false
		}
		return str(d.Message.Text)
	}, templates.KindString},
	"Message.Attachments": {func(d *data) (templates.Value, bool) {
		if d.Message == nil {
			return templates.Value{}, false
		}
		return strs(d.Message.Attachments)
	}, templates.KindStrings},
	"Link":         {func(d *data) (templates.Value, bool) { return str(d.Link) }, templates.KindString},
	"AgentLink":    {func(d *data) (templates.Value, bool) { return str(d.AgentLink) }, templates.KindString},
	"Marker":       {func(d *data) (templates.Value, bool) { return str(d.Marker) }, templates.KindString},
	"ActorDisplay": {func(d *data) (templates.Value, bool) { return str(d.ActorDisplay) }, templates.KindString},
	"Added":        {func(d *data) (templates.Value, bool) { return strs(d.Added) }, templates.KindStrings},
	"Recipients":   {func(d *data) (templates.Value, bool) { return strs(d.Recipients) }, templates.KindStrings},
	"Status":       {func(d *data) (templates.Value, bool) { return str(d.Status) }, templates.KindString},
	"OldStatus":    {func(d *data) (templates.Value, bool) { return str(d.OldStatus) }, templates.KindString},
	"Detail":       {func(d *data) (templates.Value, bool) { return str(d.Detail) }, templates.KindString},
	"Reopened": {func(d *data) (templates.Value, bool) {
		return templates.Value{Kind: templates.KindBool, B: d.Reopened}, true
	}, templates.KindBool},
	"Target":    {func(d *data) (templates.Value, bool) { return str(d.Target) }, templates.KindString},
	"Due":       {func(d *data) (templates.Value, bool) { return str(d.Due) }, templates.KindString},
	"OfferLink": {func(d *data) (templates.Value, bool) { return str(d.OfferLink) }, templates.KindString},
	"RatingScale": {func(d *data) (templates.Value, bool) {
		return templates.Value{Kind: templates.KindInt, I: d.RatingScale}, true
	}, templates.KindInt},
	"Comment": {func(d *data) (templates.Value, bool) { return str(d.Comment) }, templates.KindString},
}

func str(s string) (templates.Value, bool) {
	return templates.Value{Kind: templates.KindString, S: s}, true
}

func strs(l []string) (templates.Value, bool) {
	return templates.Value{Kind: templates.KindStrings, L: l}, true
}

func structVal(notNil bool) (templates.Value, bool) {
	return templates.Value{Kind: templates.KindStruct, B: notNil}, true
}

// TemplateField implements templates.Schema.
func (d *data) TemplateField(path []string) (templates.Getter, templates.Kind) {
	f, ok := dataFields[strings.Join(path, ".")]
	if !ok {
		return nil, 0
	}
	get := f.get
	return func(v any) (templates.Value, bool) {
		d, ok := v.(*data)
		if !ok {
			return templates.Value{}, false
		}
		return get(d)
	}, f.kind
}
