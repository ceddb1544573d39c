package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// texts holds every customer-visible string of the pages in one language.
// Format strings take their arguments in the order the comment names.
type texts struct {
	Lang string

	NotFoundTitle, NotFoundBody string
	MutedTitle, MutedBody       string
	// The portal's forms.
	ReplyLabel, ReplyButton, CloseButton, MuteButton string
	MutedState, ReplySent, ClosedNotice, EmptyReply  string
	FormExpired, MyRequests, MyLink, InternalLabel   string
	// UnverifiedLabel marks a message whose sender nothing proved.
	UnverifiedLabel string
	// HistoryLabel heads the ticket history of the agent view.
	HistoryLabel            string
	CloseHint               string
	MethodTitle, MethodBody string
	ErrorTitle, ErrorBody   string

	RequestLabel, StatusLabel, OpenedLabel, UpdatedLabel string
	// TypeLabel names the request type (issue 17).
	TypeLabel    string
	Conversation string
	// ReplyHint: ticket key.
	ReplyHint string
	// LinkExpires: date; LinkPersonal is used when the link never expires.
	LinkExpires, LinkPersonal string
	ShowQuoted                string
	NoText, NoSubject         string
	// TextCut says a message's text was cut (inbound.max_text_bytes).
	TextCut           string
	NoMessages        string
	Attachments       string
	UnnamedAttachment string
	UnknownSender     string
	// Image labels a picture the page does not load: alt text or file name.
	Image string

	months [12]string
	// dateFormat: day, month name, year, hour, minute.
	dateFormat string
	decimal    string
	bytes      string
	// statuses names well-known statuses in this language; others are
	// title-cased.
	statuses map[string]string
}

// Date formats t (in UTC, since the page cannot know the reader's zone).
func (tx *texts) Date(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf(tx.dateFormat, t.Day(), tx.months[t.Month()-1], t.Year(), t.Hour(), t.Minute())
}

// Size formats a byte count the way a file manager would.
func (tx *texts) Size(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " " + tx.bytes
	}
	units := []string{"KB", "MB", "GB", "TB"}
	v := float64(n) / 1024
	u := 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	var s string
	if v < 10 {
		s = strconv.FormatFloat(v, 'f', 1, 64)
		s = strings.TrimSuffix(s, ".0")
	} else {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strings.Replace(s, ".", tx.decimal, 1) + " " + units[u]
}

// Status is the default customer-visible name of a status.
func (tx *texts) Status(status string) string {
	if name, ok := tx.statuses[strings.ToLower(status)]; ok {
		return name
	}
	return titleCase(status)
}

// titleCase turns "waiting_for_customer" into "Waiting For Customer".
func titleCase(s string) string {
	words := strings.Fields(strings.ReplaceAll(s, "_", " "))
	for i, w := range words {
		r := []rune(w)
		words[i] = strings.ToUpper(string(r[0])) + string(r[1:])
	}
	return strings.Join(words, " ")
}

// catalog is the set of languages the pages speak, the first being the
// fallback.
type catalog struct {
	langs   []*texts
	matcher language.Matcher
}

func newCatalog() *catalog {
	langs := []*texts{english(), german()}
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.Make(l.Lang)
	}
	return &catalog{langs: langs, matcher: language.NewMatcher(tags)}
}

// forTag picks the texts for a language tag such as a ticket's "de-CH";
// unknown or empty tags get the fallback.
func (c *catalog) forTag(tag string) *texts {
	t, err := language.Parse(tag)
	if err != nil {
		return c.langs[0]
	}
	_, i, conf := c.matcher.Match(t)
	if conf == language.No {
		return c.langs[0]
	}
	return c.langs[i]
}

// forRequest picks the texts for a browser's Accept-Language header.
func (c *catalog) forRequest(acceptLanguage string) *texts {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.langs[0]
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.langs[0]
	}
	return c.langs[i]
}

func english() *texts {
	return &texts{
		Lang:            "en",
		ReplyLabel:      "Add a reply",
		ReplyButton:     "Send reply",
		CloseButton:     "Close this request",
		CloseHint:       "Solved? Close the request; writing again reopens it.",
		MuteButton:      "Stop emails about this request",
		MutedState:      "You get no email about this request except when it is resolved.",
		ReplySent:       "Thank you, your reply was added.",
		ClosedNotice:    "Your request is closed. Write again any time to reopen it.",
		EmptyReply:      "Please write something before sending.",
		FormExpired:     "This form has expired. Please reload the page and try again.",
		MyRequests:      "Your requests",
		MyLink:          "All your requests",
		InternalLabel:   "Internal",
		UnverifiedLabel: "Sender not verified",
		HistoryLabel:    "History",
		MutedTitle:      "Notifications muted",
		MutedBody:       "You will get no more mail about this request, except when it is resolved.",
		NotFoundTitle:   "This link doesn’t work",
		NotFoundBody: "The link may be incomplete, or it may have expired or been replaced by a newer one. " +
			"The most recent email we sent you about your request has a link that works, " +
			"and you can always simply reply to that email to reach us.",
		MethodTitle:       "This page can only be viewed",
		MethodBody:        "Please open the link from your email in your browser.",
		ErrorTitle:        "Something went wrong on our side",
		ErrorBody:         "We could not show this page just now. Please try again in a few minutes.",
		RequestLabel:      "Request",
		TypeLabel:         "Type",
		StatusLabel:       "Status",
		OpenedLabel:       "Opened",
		UpdatedLabel:      "Last update",
		Conversation:      "Conversation",
		ReplyHint:         "To add something, reply to any email we sent you about this request and keep [%s] in the subject.",
		LinkExpires:       "This link is meant for you alone and works until %s.",
		LinkPersonal:      "This link is meant for you alone. Please do not share it.",
		ShowQuoted:        "Show quoted text",
		NoText:            "(no text)",
		TextCut:           "This message is longer than shown here: its text was cut. The whole message is kept as it arrived.",
		NoSubject:         "(no subject)",
		NoMessages:        "There are no messages to show yet.",
		Attachments:       "Attachments",
		UnnamedAttachment: "Unnamed attachment",
		UnknownSender:     "Unknown sender",
		Image:             "image",
		months: [12]string{"January", "February", "March", "April", "May", "June",
			"July", "August", "September", "October", "November", "December"},
		dateFormat: "%d %s %d, %02d:%02d UTC",
		decimal:    ".",
		bytes:      "bytes",
	}
}

func german() *texts {
	return &texts{
		Lang:            "de",
		ReplyLabel:      "Antwort hinzufügen",
		ReplyButton:     "Antwort senden",
		CloseButton:     "Anfrage schließen",
		CloseHint:       "Gelöst? Schließen Sie die Anfrage; eine neue Nachricht öffnet sie wieder.",
		MuteButton:      "Keine E-Mails mehr zu dieser Anfrage",
		MutedState:      "Sie erhalten zu dieser Anfrage keine E-Mails mehr, außer wenn sie gelöst wird.",
		ReplySent:       "Danke, Ihre Antwort wurde hinzugefügt.",
		ClosedNotice:    "Ihre Anfrage ist geschlossen. Schreiben Sie jederzeit, um sie wieder zu öffnen.",
		EmptyReply:      "Bitte schreiben Sie etwas, bevor Sie senden.",
		FormExpired:     "Dieses Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
		MyRequests:      "Ihre Anfragen",
		MyLink:          "Alle Ihre Anfragen",
		InternalLabel:   "Intern",
		UnverifiedLabel: "Absender nicht bestätigt",
		HistoryLabel:    "Verlauf",
		MutedTitle:      "Benachrichtigungen stummgeschaltet",
		MutedBody:       "Sie erhalten zu dieser Anfrage keine E-Mails mehr, außer wenn sie gelöst wird.",
		NotFoundTitle:   "Dieser Link funktioniert nicht",
		NotFoundBody: "Der Link ist vielleicht unvollständig, abgelaufen oder durch einen neueren ersetzt worden. " +
			"Die letzte E-Mail, die wir Ihnen zu Ihrer Anfrage geschickt haben, enthält einen gültigen Link, " +
			"und Sie können uns jederzeit erreichen, indem Sie einfach auf diese E-Mail antworten.",
		MethodTitle:       "Diese Seite kann nur angesehen werden",
		MethodBody:        "Bitte öffnen Sie den Link aus Ihrer E-Mail in Ihrem Browser.",
		ErrorTitle:        "Bei uns ist etwas schiefgegangen",
		ErrorBody:         "Wir konnten diese Seite gerade nicht anzeigen. Bitte versuchen Sie es in ein paar Minuten noch einmal.",
		RequestLabel:      "Anfrage",
		TypeLabel:         "Art",
		StatusLabel:       "Status",
		OpenedLabel:       "Eröffnet",
		UpdatedLabel:      "Zuletzt aktualisiert",
		Conversation:      "Verlauf",
		ReplyHint:         "Um etwas zu ergänzen, antworten Sie auf eine unserer E-Mails zu dieser Anfrage und lassen Sie [%s] im Betreff stehen.",
		LinkExpires:       "Dieser Link ist nur für Sie bestimmt und gilt bis %s.",
		LinkPersonal:      "Dieser Link ist nur für Sie bestimmt. Bitte geben Sie ihn nicht weiter.",
		ShowQuoted:        "Zitierten Text anzeigen",
		NoText:            "(kein Text)",
		TextCut:           "Diese Nachricht ist länger als hier gezeigt: ihr Text wurde gekürzt. Die ganze Nachricht ist so aufbewahrt, wie sie ankam.",
		NoSubject:         "(kein Betreff)",
		NoMessages:        "Es gibt noch keine Nachrichten.",
		Attachments:       "Anhänge",
		UnnamedAttachment: "Anhang ohne Namen",
		UnknownSender:     "Unbekannter Absender",
		Image:             "Bild",
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni",
			"Juli", "August", "September", "Oktober", "November", "Dezember"},
		dateFormat: "%d. %s %d, %02d:%02d UTC",
		decimal:    ",",
		bytes:      "Bytes",
		statuses: map[string]string{
			"new":                  "Neu",
			"open":                 "Offen",
			"pending":              "Wartend",
			"waiting":              "Wartend",
			"waiting_for_customer": "Wartet auf Ihre Antwort",
			"on_hold":              "Zurückgestellt",
			"solved":               "Gelöst",
			"resolved":             "Gelöst",
			"closed":               "Geschlossen",
		},
	}
}
