package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/ticketgate/ticketgate/internal/phrases"
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
	en, de := newTexts()
	langs := []*texts{en, de}
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

// pagePhrases holds every string of the pages: texts' field → English,
// German.
var pagePhrases = map[string]phrases.Phrase{
	"Lang":              {En: "en", De: "de"},
	"NotFoundTitle":     {En: "This link doesn’t work", De: "Dieser Link funktioniert nicht"},
	"NotFoundBody":      {En: "The link may be incomplete, or it may have expired or been replaced by a newer one. The most recent email we sent you about your request has a link that works, and you can always simply reply to that email to reach us.", De: "Der Link ist vielleicht unvollständig, abgelaufen oder durch einen neueren ersetzt worden. Die letzte E-Mail, die wir Ihnen zu Ihrer Anfrage geschickt haben, enthält einen gültigen Link, und Sie können uns jederzeit erreichen, indem Sie einfach auf diese E-Mail antworten."},
	"MutedTitle":        {En: "Notifications muted", De: "Benachrichtigungen stummgeschaltet"},
	"MutedBody":         {En: "You will get no more mail about this request, except when it is resolved.", De: "Sie erhalten zu dieser Anfrage keine E-Mails mehr, außer wenn sie gelöst wird."},
	"ReplyLabel":        {En: "Add a reply", De: "Antwort hinzufügen"},
	"ReplyButton":       {En: "Send reply", De: "Antwort senden"},
	"CloseButton":       {En: "Close this request", De: "Anfrage schließen"},
	"MuteButton":        {En: "Stop emails about this request", De: "Keine E-Mails mehr zu dieser Anfrage"},
	"MutedState":        {En: "You get no email about this request except when it is resolved.", De: "Sie erhalten zu dieser Anfrage keine E-Mails mehr, außer wenn sie gelöst wird."},
	"ReplySent":         {En: "Thank you, your reply was added.", De: "Danke, Ihre Antwort wurde hinzugefügt."},
	"ClosedNotice":      {En: "Your request is closed. Write again any time to reopen it.", De: "Ihre Anfrage ist geschlossen. Schreiben Sie jederzeit, um sie wieder zu öffnen."},
	"EmptyReply":        {En: "Please write something before sending.", De: "Bitte schreiben Sie etwas, bevor Sie senden."},
	"FormExpired":       {En: "This form has expired. Please reload the page and try again.", De: "Dieses Formular ist abgelaufen. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."},
	"MyRequests":        {En: "Your requests", De: "Ihre Anfragen"},
	"MyLink":            {En: "All your requests", De: "Alle Ihre Anfragen"},
	"InternalLabel":     {En: "Internal", De: "Intern"},
	"UnverifiedLabel":   {En: "Sender not verified", De: "Absender nicht bestätigt"},
	"HistoryLabel":      {En: "History", De: "Verlauf"},
	"CloseHint":         {En: "Solved? Close the request; writing again reopens it.", De: "Gelöst? Schließen Sie die Anfrage; eine neue Nachricht öffnet sie wieder."},
	"MethodTitle":       {En: "This page can only be viewed", De: "Diese Seite kann nur angesehen werden"},
	"MethodBody":        {En: "Please open the link from your email in your browser.", De: "Bitte öffnen Sie den Link aus Ihrer E-Mail in Ihrem Browser."},
	"ErrorTitle":        {En: "Something went wrong on our side", De: "Bei uns ist etwas schiefgegangen"},
	"ErrorBody":         {En: "We could not show this page just now. Please try again in a few minutes.", De: "Wir konnten diese Seite gerade nicht anzeigen. Bitte versuchen Sie es in ein paar Minuten noch einmal."},
	"RequestLabel":      {En: "Request", De: "Anfrage"},
	"StatusLabel":       {En: "Status", De: "Status"},
	"OpenedLabel":       {En: "Opened", De: "Eröffnet"},
	"UpdatedLabel":      {En: "Last update", De: "Zuletzt aktualisiert"},
	"TypeLabel":         {En: "Type", De: "Art"},
	"Conversation":      {En: "Conversation", De: "Verlauf"},
	"ReplyHint":         {En: "To add something, reply to any email we sent you about this request and keep [%s] in the subject.", De: "Um etwas zu ergänzen, antworten Sie auf eine unserer E-Mails zu dieser Anfrage und lassen Sie [%s] im Betreff stehen."},
	"LinkExpires":       {En: "This link is meant for you alone and works until %s.", De: "Dieser Link ist nur für Sie bestimmt und gilt bis %s."},
	"LinkPersonal":      {En: "This link is meant for you alone. Please do not share it.", De: "Dieser Link ist nur für Sie bestimmt. Bitte geben Sie ihn nicht weiter."},
	"ShowQuoted":        {En: "Show quoted text", De: "Zitierten Text anzeigen"},
	"NoText":            {En: "(no text)", De: "(kein Text)"},
	"NoSubject":         {En: "(no subject)", De: "(kein Betreff)"},
	"TextCut":           {En: "This message is longer than shown here: its text was cut. The whole message is kept as it arrived.", De: "Diese Nachricht ist länger als hier gezeigt: ihr Text wurde gekürzt. Die ganze Nachricht ist so aufbewahrt, wie sie ankam."},
	"NoMessages":        {En: "There are no messages to show yet.", De: "Es gibt noch keine Nachrichten."},
	"Attachments":       {En: "Attachments", De: "Anhänge"},
	"UnnamedAttachment": {En: "Unnamed attachment", De: "Anhang ohne Namen"},
	"UnknownSender":     {En: "Unknown sender", De: "Unbekannter Absender"},
	"Image":             {En: "image", De: "Bild"},
}

// newTexts returns the pages' texts in English and in German.
func newTexts() (en, de *texts) {
	en = &texts{
		months: [12]string{"January", "February", "March", "April", "May", "June",
			"July", "August", "September", "October", "November", "December"},
		dateFormat: "%d %s %d, %02d:%02d UTC",
		decimal:    ".",
		bytes:      "bytes",
	}
	de = &texts{
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
	if err := phrases.Fill(pagePhrases, en, de); err != nil {
		// The table above lacks a field's row: every test of the
		// package fails here.
		panic(err)
	}
	return en, de
}
