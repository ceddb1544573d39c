package desk

import (
	"fmt"
	"time"

	"golang.org/x/text/language"

	"github.com/ticketgate/ticketgate/internal/phrases"
)

// texts holds every string of the desk in one language.
type texts struct {
	Lang string

	Desk, SignIn, SignInIntro, Address, SendLink, LinkSent, ConfirmIntro, ConfirmButton string
	SignOut, SignedInAs, LinkBad, TooMany, FormExpired, NotFound, NotFoundBody          string
	ErrorTitle, ErrorBody, Refused                                                      string

	Queue, Mine, Unassigned, Open, Waiting, Closed, Search, Filter, Project, Status  string
	Priority, Assignee, Organization, Type, Any, Nobody, Sort, Due, Age, Activity    string
	Subject, Reporter, Updated, Created, NoTickets, Previous, Next, Page, Apply      string
	Bulk, Selected, Merge, MergeInto, Spam, Block, BlockHint, Participants, Add      string
	Remove, Share, Reply, Note, Send, AddNote, Files, History, Conversation, Raw     string
	InternalNote, Held, HeldWhy, Unverified, ShowText, ShowHTML, Attachments, Change string
	Stale, SendAnyway, Done, Messages, Me, Resolve, Quoted, TextCut, NoText, People  string
	DueFirst, DueResolve, Follows, MergedInto                                        string
	Snoozed, SnoozedUntil                                                            string // issue 21

	months     [12]string
	dateFormat string
}

// Date formats t in UTC (the desk cannot know the reader's zone).
func (tx *texts) Date(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.UTC()
	return fmt.Sprintf(tx.dateFormat, t.Day(), tx.months[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

// deskPhrases holds every string of the desk: texts' field → English,
// German.
var deskPhrases = map[string]phrases.Phrase{
	"Lang":          {En: "en", De: "de"},
	"Desk":          {En: "Support desk", De: "Support-Schreibtisch"},
	"SignIn":        {En: "Sign in", De: "Anmelden"},
	"SignInIntro":   {En: "Enter your agent address: we mail you a link that signs you in from this browser.", De: "Geben Sie Ihre Agenten-Adresse ein: Sie erhalten einen Link, der Sie in diesem Browser anmeldet."},
	"Address":       {En: "Address", De: "Adresse"},
	"SendLink":      {En: "Mail me a sign-in link", De: "Anmeldelink senden"},
	"LinkSent":      {En: "If that address belongs to an agent, a sign-in link is on its way. Open it in this browser within 15 minutes.", De: "Gehört die Adresse einem Agenten, ist ein Anmeldelink unterwegs. Öffnen Sie ihn innerhalb von 15 Minuten in diesem Browser."},
	"ConfirmIntro":  {En: "Press the button to sign in to the desk in this browser.", De: "Drücken Sie die Schaltfläche, um sich in diesem Browser anzumelden."},
	"ConfirmButton": {En: "Sign in", De: "Anmelden"},
	"SignOut":       {En: "Sign out", De: "Abmelden"},
	"SignedInAs":    {En: "Signed in as", De: "Angemeldet als"},
	"LinkBad":       {En: "This sign-in link is used, expired or was asked for in another browser. Ask for a new one.", De: "Dieser Anmeldelink ist verbraucht, abgelaufen oder wurde in einem anderen Browser angefordert. Fordern Sie einen neuen an."},
	"TooMany":       {En: "Too many sign-in requests. Try again later.", De: "Zu viele Anmeldeanfragen. Versuchen Sie es später erneut."},
	"FormExpired":   {En: "This form has expired. Reload the page and try again.", De: "Dieses Formular ist abgelaufen. Laden Sie die Seite neu."},
	"NotFound":      {En: "Not found", De: "Nicht gefunden"},
	"NotFoundBody":  {En: "There is nothing here.", De: "Hier ist nichts."},
	"ErrorTitle":    {En: "Something went wrong", De: "Etwas ist schiefgegangen"},
	"ErrorBody":     {En: "The desk could not do that right now. Try again in a minute.", De: "Das ging gerade nicht. Versuchen Sie es in einer Minute erneut."},
	"Refused":       {En: "Not done", De: "Nicht ausgeführt"},
	"Queue":         {En: "Queue", De: "Warteschlange"},
	"Mine":          {En: "Mine", De: "Meine"},
	"Unassigned":    {En: "Unassigned", De: "Nicht zugewiesen"},
	"Open":          {En: "All open", De: "Alle offenen"},
	"Waiting":       {En: "Waiting for customer", De: "Wartet auf Kunden"},
	"Closed":        {En: "Recently closed", De: "Kürzlich geschlossen"},
	"Search":        {En: "Search", De: "Suchen"},
	"Filter":        {En: "Filter", De: "Filtern"},
	"Project":       {En: "Project", De: "Projekt"},
	"Status":        {En: "Status", De: "Status"},
	"Priority":      {En: "Priority", De: "Priorität"},
	"Assignee":      {En: "Assignee", De: "Zuständig"},
	"Organization":  {En: "Organization", De: "Organisation"},
	"Type":          {En: "Type", De: "Typ"},
	"Any":           {En: "any", De: "alle"},
	"Nobody":        {En: "nobody", De: "niemand"},
	"Sort":          {En: "Sort", De: "Sortierung"},
	"Due":           {En: "due time", De: "Fälligkeit"},
	"Age":           {En: "age", De: "Alter"},
	"Activity":      {En: "last activity", De: "letzte Aktivität"},
	"Subject":       {En: "Subject", De: "Betreff"},
	"Reporter":      {En: "Reporter", De: "Melder"},
	"Updated":       {En: "Updated", De: "Aktualisiert"},
	"Created":       {En: "Opened", De: "Eröffnet"},
	"NoTickets":     {En: "No tickets here.", De: "Keine Tickets."},
	"Previous":      {En: "Previous", De: "Zurück"},
	"Next":          {En: "Next", De: "Weiter"},
	"Page":          {En: "Page", De: "Seite"},
	"Apply":         {En: "Apply", De: "Anwenden"},
	"Bulk":          {En: "With the selected", De: "Mit den ausgewählten"},
	"Selected":      {En: "selected", De: "ausgewählt"},
	"Merge":         {En: "Merge", De: "Zusammenführen"},
	"MergeInto":     {En: "Merge this ticket into", De: "Dieses Ticket zusammenführen mit"},
	"Spam":          {En: "Spam", De: "Spam"},
	"Block":         {En: "Block sender", De: "Absender sperren"},
	"BlockHint":     {En: "admins only", De: "nur Admins"},
	"Participants":  {En: "Participants", De: "Beteiligte"},
	"Add":           {En: "Add", De: "Hinzufügen"},
	"Remove":        {En: "Remove", De: "Entfernen"},
	"Share":         {En: "Share with organization", De: "Mit Organisation teilen"},
	"Reply":         {En: "Reply to the customer", De: "Dem Kunden antworten"},
	"Note":          {En: "Internal note", De: "Interne Notiz"},
	"Send":          {En: "Send reply", De: "Antwort senden"},
	"AddNote":       {En: "Add note", De: "Notiz hinzufügen"},
	"Files":         {En: "Files", De: "Dateien"},
	"History":       {En: "History", De: "Verlauf"},
	"Conversation":  {En: "Conversation", De: "Unterhaltung"},
	"Raw":           {En: "raw message", De: "Originalnachricht"},
	"InternalNote":  {En: "internal note", De: "interne Notiz"},
	"Held":          {En: "held", De: "zurückgehalten"},
	"HeldWhy":       {En: "Held from the customers", De: "Den Kunden vorenthalten"},
	"Unverified":    {En: "sender not verified", De: "Absender nicht bestätigt"},
	"ShowText":      {En: "Text", De: "Text"},
	"ShowHTML":      {En: "Formatted", De: "Formatiert"},
	"Attachments":   {En: "Attachments", De: "Anhänge"},
	"Change":        {En: "Change", De: "Ändern"},
	"Stale":         {En: "This ticket changed since you opened it. Read what is new below, then send again if it still fits.", De: "Dieses Ticket hat sich geändert, seit Sie es geöffnet haben. Lesen Sie unten, was neu ist, und senden Sie dann erneut, wenn es noch passt."},
	"SendAnyway":    {En: "Send anyway", De: "Trotzdem senden"},
	"Done":          {En: "Done.", De: "Erledigt."},
	"Messages":      {En: "messages", De: "Nachrichten"},
	"Me":            {En: "me", De: "mir"},
	"Resolve":       {En: "Resolve", De: "Lösen"},
	"Quoted":        {En: "quoted text", De: "zitierter Text"},
	"TextCut":       {En: "The text was cut here; the raw message has all of it.", De: "Der Text wurde hier gekürzt; die Originalnachricht enthält alles."},
	"NoText":        {En: "(no text)", De: "(kein Text)"},
	"People":        {En: "People", De: "Personen"},
	"DueFirst":      {En: "First response due", De: "Erste Antwort fällig"},
	"DueResolve":    {En: "Resolution due", De: "Lösung fällig"},
	"Follows":       {En: "Follows", De: "Folgt auf"},
	"MergedInto":    {En: "Merged into", De: "Zusammengeführt mit"},
	"Snoozed":       {En: "Snoozed", De: "Zurückgestellt"},
	"SnoozedUntil":  {En: "snoozed until", De: "zurückgestellt bis"},
}

var english, german = newTexts()

func newTexts() (en, de *texts) {
	en = &texts{
		months:     [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		dateFormat: "%d %s %d, %02d:%02d UTC",
	}
	de = &texts{
		months:     [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez."},
		dateFormat: "%d. %s %d, %02d:%02d UTC",
	}
	if err := phrases.Fill(deskPhrases, en, de); err != nil {
		// The table above lacks a field's row: every test of the
		// package fails here.
		panic(err)
	}
	return en, de
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.German})

// forRequest picks the language of the browser.
func forRequest(acceptLanguage string) *texts {
	tags, _, _ := language.ParseAcceptLanguage(acceptLanguage)
	_, i, _ := matcher.Match(tags...)
	if i == 1 {
		return german
	}
	return english
}
