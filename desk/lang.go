package desk

import (
	"fmt"
	"time"

	"golang.org/x/text/language"
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

var english = &texts{
	Lang: "en", Desk: "Support desk", SignIn: "Sign in", SignInIntro: "Enter your agent address: we mail you a link that signs you in from this browser.",
	Address: "Address", SendLink: "Mail me a sign-in link",
	LinkSent:     "If that address belongs to an agent, a sign-in link is on its way. Open it in this browser within 15 minutes.",
	ConfirmIntro: "Press the button to sign in to the desk in this browser.", ConfirmButton: "Sign in",
	SignOut: "Sign out", SignedInAs: "Signed in as", LinkBad: "This sign-in link is used, expired or was asked for in another browser. Ask for a new one.",
	TooMany: "Too many sign-in requests. Try again later.", FormExpired: "This form has expired. Reload the page and try again.",
	NotFound: "Not found", NotFoundBody: "There is nothing here.", ErrorTitle: "Something went wrong",
	ErrorBody: "The desk could not do that right now. Try again in a minute.", Refused: "Not done",
	Queue: "Queue", Mine: "Mine", Unassigned: "Unassigned", Open: "All open", Waiting: "Waiting for customer", Closed: "Recently closed",
	Search: "Search", Filter: "Filter", Project: "Project", Status: "Status", Priority: "Priority", Assignee: "Assignee",
	Organization: "Organization", Type: "Type", Any: "any", Nobody: "nobody", Sort: "Sort", Due: "due time", Age: "age",
	Activity: "last activity", Subject: "Subject", Reporter: "Reporter", Updated: "Updated", Created: "Opened",
	NoTickets: "No tickets here.", Previous: "Previous", Next: "Next", Page: "Page", Apply: "Apply",
	Bulk: "With the selected", Selected: "selected", Merge: "Merge", MergeInto: "Merge this ticket into", Spam: "Spam",
	Block: "Block sender", BlockHint: "admins only", Participants: "Participants", Add: "Add", Remove: "Remove",
	Share: "Share with organization", Reply: "Reply to the customer", Note: "Internal note", Send: "Send reply",
	AddNote: "Add note", Files: "Files", History: "History", Conversation: "Conversation", Raw: "raw message",
	InternalNote: "internal note", Held: "held", HeldWhy: "Held from the customers", Unverified: "sender not verified",
	ShowText: "Text", ShowHTML: "Formatted", Attachments: "Attachments", Change: "Change",
	Stale:      "This ticket changed since you opened it. Read what is new below, then send again if it still fits.",
	SendAnyway: "Send anyway", Done: "Done.", Messages: "messages", Me: "me", Resolve: "Resolve",
	Quoted: "quoted text", TextCut: "The text was cut here; the raw message has all of it.", NoText: "(no text)",
	People: "People", DueFirst: "First response due", DueResolve: "Resolution due", Follows: "Follows", MergedInto: "Merged into",
	months:     [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
	dateFormat: "%d %s %d, %02d:%02d UTC",
}

var german = &texts{
	Lang: "de", Desk: "Support-Schreibtisch", SignIn: "Anmelden", SignInIntro: "Geben Sie Ihre Agenten-Adresse ein: Sie erhalten einen Link, der Sie in diesem Browser anmeldet.",
	Address: "Adresse", SendLink: "Anmeldelink senden",
	LinkSent:     "Gehört die Adresse einem Agenten, ist ein Anmeldelink unterwegs. Öffnen Sie ihn innerhalb von 15 Minuten in diesem Browser.",
	ConfirmIntro: "Drücken Sie die Schaltfläche, um sich in diesem Browser anzumelden.", ConfirmButton: "Anmelden",
	SignOut: "Abmelden", SignedInAs: "Angemeldet als", LinkBad: "Dieser Anmeldelink ist verbraucht, abgelaufen oder wurde in einem anderen Browser angefordert. Fordern Sie einen neuen an.",
	TooMany: "Zu viele Anmeldeanfragen. Versuchen Sie es später erneut.", FormExpired: "Dieses Formular ist abgelaufen. Laden Sie die Seite neu.",
	NotFound: "Nicht gefunden", NotFoundBody: "Hier ist nichts.", ErrorTitle: "Etwas ist schiefgegangen",
	ErrorBody: "Das ging gerade nicht. Versuchen Sie es in einer Minute erneut.", Refused: "Nicht ausgeführt",
	Queue: "Warteschlange", Mine: "Meine", Unassigned: "Nicht zugewiesen", Open: "Alle offenen", Waiting: "Wartet auf Kunden", Closed: "Kürzlich geschlossen",
	Search: "Suchen", Filter: "Filtern", Project: "Projekt", Status: "Status", Priority: "Priorität", Assignee: "Zuständig",
	Organization: "Organisation", Type: "Typ", Any: "alle", Nobody: "niemand", Sort: "Sortierung", Due: "Fälligkeit", Age: "Alter",
	Activity: "letzte Aktivität", Subject: "Betreff", Reporter: "Melder", Updated: "Aktualisiert", Created: "Eröffnet",
	NoTickets: "Keine Tickets.", Previous: "Zurück", Next: "Weiter", Page: "Seite", Apply: "Anwenden",
	Bulk: "Mit den ausgewählten", Selected: "ausgewählt", Merge: "Zusammenführen", MergeInto: "Dieses Ticket zusammenführen mit", Spam: "Spam",
	Block: "Absender sperren", BlockHint: "nur Admins", Participants: "Beteiligte", Add: "Hinzufügen", Remove: "Entfernen",
	Share: "Mit Organisation teilen", Reply: "Dem Kunden antworten", Note: "Interne Notiz", Send: "Antwort senden",
	AddNote: "Notiz hinzufügen", Files: "Dateien", History: "Verlauf", Conversation: "Unterhaltung", Raw: "Originalnachricht",
	InternalNote: "interne Notiz", Held: "zurückgehalten", HeldWhy: "Den Kunden vorenthalten", Unverified: "Absender nicht bestätigt",
	ShowText: "Text", ShowHTML: "Formatiert", Attachments: "Anhänge", Change: "Ändern",
	Stale:      "Dieses Ticket hat sich geändert, seit Sie es geöffnet haben. Lesen Sie unten, was neu ist, und senden Sie dann erneut, wenn es noch passt.",
	SendAnyway: "Trotzdem senden", Done: "Erledigt.", Messages: "Nachrichten", Me: "mir", Resolve: "Lösen",
	Quoted: "zitierter Text", TextCut: "Der Text wurde hier gekürzt; die Originalnachricht enthält alles.", NoText: "(kein Text)",
	People: "Personen", DueFirst: "Erste Antwort fällig", DueResolve: "Lösung fällig", Follows: "Folgt auf", MergedInto: "Zusammengeführt mit",
	months:     [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.", "Dez."},
	dateFormat: "%d. %s %d, %02d:%02d UTC",
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
