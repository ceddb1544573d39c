package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
)

// The pages of issue 18: an offer's page (/o/<token>, for the agent it
// was offered to) and a ticket's rating page (/r/<token>, for one
// customer). A GET only shows: mail scanners open every link, so only the
// page's POST (with its CSRF token) takes, passes or rates.

// PageActions are what the offer and rating pages' POSTs do, in the
// domain (ticket.Engine). Each takes the page's token; an error wrapping
// ErrLinkRefused means the domain refused (taken by someone else, the
// ticket closed, the link no longer good): the page is shown again and
// says how things stand.
type PageActions struct {
	TakeOffer func(ctx context.Context, token string) error
	PassOffer func(ctx context.Context, token string) error
	Rate      func(ctx context.Context, token string, score int, comment string) error
	// RatingScale is a project's rating scale (5 or 2).
	RatingScale func(project string) int
}

// pageTexts are the words of the two pages in one language.
type pageTexts struct {
	OfferTitle, OfferedTo, Reporter               string
	TakeButton, PassButton, TakeHint              string
	TakenByYou, TakenBy, Passed, OfferOver, Ended string
	RateTitle, RateQuestion, CommentLabel         string
	RateButton, Thanks, RateClosed, YourRating    string
	Good, Bad, Seen, Unseen                       string
}

var pageCatalog = map[string]*pageTexts{
	"en": {
		OfferTitle: "Offer", OfferedTo: "Offered to", Reporter: "Reporter",
		TakeButton: "Take it", PassButton: "Pass it on",
		TakeHint:   "The first to take it gets it: the ticket is assigned to you and the others are told.",
		TakenByYou: "You took this request: it is assigned to you.", TakenBy: "Already taken by %s.",
		Passed: "You passed this request on.", OfferOver: "This offer is over.",
		Ended:     "This offer is over: the request was assigned, closed or nobody took it.",
		RateTitle: "Rate our help", RateQuestion: "How satisfied are you with our help with this request?",
		CommentLabel: "Comment (optional)", RateButton: "Send rating",
		Thanks:     "Thank you! Your rating was recorded. You can change it until the request is closed.",
		RateClosed: "This request is closed, so its rating can no longer be given or changed.",
		YourRating: "Your rating", Good: "Good", Bad: "Bad", Seen: "seen", Unseen: "not seen",
	},
	"de": {
		OfferTitle: "Angebot", OfferedTo: "Angeboten an", Reporter: "Kunde",
		TakeButton: "Übernehmen", PassButton: "Weitergeben",
		TakeHint:   "Wer zuerst übernimmt, bekommt die Anfrage: sie wird Ihnen zugewiesen, die anderen werden benachrichtigt.",
		TakenByYou: "Sie haben diese Anfrage übernommen: sie ist Ihnen zugewiesen.", TakenBy: "Bereits übernommen von %s.",
		Passed: "Sie haben diese Anfrage weitergegeben.", OfferOver: "Dieses Angebot ist beendet.",
		Ended:     "Dieses Angebot ist beendet: die Anfrage wurde zugewiesen, geschlossen oder von niemandem übernommen.",
		RateTitle: "Unsere Hilfe bewerten", RateQuestion: "Wie zufrieden sind Sie mit unserer Hilfe bei dieser Anfrage?",
		CommentLabel: "Kommentar (freiwillig)", RateButton: "Bewertung senden",
		Thanks:     "Vielen Dank! Ihre Bewertung wurde gespeichert. Sie können sie ändern, bis die Anfrage geschlossen ist.",
		RateClosed: "Diese Anfrage ist geschlossen; sie kann nicht mehr bewertet und die Bewertung nicht mehr geändert werden.",
		YourRating: "Ihre Bewertung", Good: "Gut", Bad: "Schlecht", Seen: "gesehen", Unseen: "nicht gesehen",
	},
}

func pageTextsFor(tx *texts) *pageTexts {
	if p, ok := pageCatalog[tx.Lang]; ok {
		return p
	}
	return pageCatalog["en"]
}

// pageLink resolves a token of kind for the pages of issue 18.
func pageLink(tx store.Tx, token, kind string, now time.Time) (*store.Token, *store.Ticket, error) {
	tok, err := tx.Token(token)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &deniedError{reason: "unknown token"}
	}
	if err != nil {
		return nil, nil, err
	}
	if tok.Kind != kind || !tok.Valid(now) {
		return nil, nil, &deniedError{reason: "not a valid " + kind + " link", ticket: tok.Ticket}
	}
	t, err := tx.Ticket(tok.Ticket)
	if errors.Is(err, store.ErrNotFound) || err == nil && t.Project != tok.Project {
		return nil, nil, &deniedError{reason: "ticket gone", ticket: tok.Ticket}
	}
	if err != nil {
		return nil, nil, err
	}
	return tok, t, nil
}

type offerPage struct {
	T         *texts
	P         *pageTexts
	Title     string
	Project   string
	Key       string
	Subject   string
	Reporter  string
	Text      string
	Forms     bool
	CSRF      string
	Base      string
	State     string
	OfferedTo []offerAgentView
}

// offerAgentView is one agent of an offer as the pages show it.
type offerAgentView struct {
	Address, State string
	Seen           bool
	// SeenText says it in the page's language.
	SeenText string
}

func offerAgents(pt *pageTexts, o *store.Offer) []offerAgentView {
	if o == nil {
		return nil
	}
	var out []offerAgentView
	for _, a := range o.Agents {
		v := offerAgentView{Address: a.Address, State: string(a.State), Seen: !a.Seen.IsZero(), SeenText: pt.Unseen}
		if v.Seen {
			v.SeenText = pt.Seen
		}
		out = append(out, v)
	}
	return out
}

func (s *server) offerPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	var (
		tok *store.Token
		t   *store.Ticket
		o   *store.Offer
		req *store.Message
	)
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if tok, t, err = pageLink(tx, token, store.TokenOffer, s.opts.Now()); err != nil {
			return err
		}
		if s.opts.IsStaff == nil || !s.opts.IsStaff(t.Project, tok.Recipient) {
			return &deniedError{reason: "the link's agent is no longer on the project", ticket: t.Key}
		}
		if o, err = tx.Offer(t.Key); errors.Is(err, store.ErrNotFound) {
			o, err = nil, nil
		}
		if err != nil {
			return err
		}
		msgs, err := tx.TicketMessages(t.Key)
		if len(msgs) > 0 {
			req = msgs[0]
		}
		return err
	})
	if !s.answerResolve(w, r, err) {
		return
	}
	tx := s.lang.forTag(t.Language)
	pt := pageTextsFor(tx)
	v := &offerPage{T: tx, P: pt, Project: s.projectName(t.Project), Key: t.Key, Subject: strings.TrimSpace(t.Subject),
		Reporter: t.Reporter, Base: s.prefix + "/o/" + token, OfferedTo: offerAgents(pt, o)}
	v.Title = pt.OfferTitle + " " + t.Key + ": " + v.Subject
	if req != nil {
		v.Text = req.Text
	}
	me := (*store.OfferAgent)(nil)
	if o != nil {
		me = o.Agent(tok.Recipient)
	}
	switch {
	case o == nil:
		v.State = pt.Ended
	case o.TakenBy == tok.Recipient:
		v.State = pt.TakenByYou
	case o.TakenBy != "":
		v.State = strings.Replace(pt.TakenBy, "%s", o.TakenBy, 1)
	case me != nil && me.State == store.OfferPassed:
		v.State = pt.Passed
	case !o.Ended.IsZero():
		v.State = pt.Ended
	case me != nil && (me.State == store.OfferOpen || me.State == store.OfferTimedOut) && len(s.opts.Secret) > 0 && s.opts.Pages.TakeOffer != nil:
		v.Forms, v.CSRF = true, s.csrfToken(token)
	default:
		v.State = pt.OfferOver
	}
	s.render(w, http.StatusOK, "offer", v)
}

// offerPost takes or passes (act) an offer for its agent.
func (s *server) offerPost(act func(*PageActions) func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := r.PathValue("token")
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
			return
		}
		fn := act(&s.opts.Pages)
		if fn == nil || !s.csrfOK(r, token) {
			tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
			s.problem(w, http.StatusForbidden, tx, tx.ErrorTitle, tx.FormExpired)
			return
		}
		err := fn(r.Context(), token)
		switch {
		case err == nil, errors.Is(err, ErrLinkRefused):
			if err != nil {
				s.log.Info("offer page: refused", "err", err)
			}
			// The page says how things stand now (taken by whom).
			http.Redirect(w, r, s.prefix+"/o/"+token, http.StatusSeeOther)
		case errors.Is(err, context.Canceled):
		default:
			s.log.Error("offer page: store", "err", err)
			s.serverError(w, r, fault.IsTemporary(err))
		}
	}
}

type ratingPage struct {
	T        *texts
	P        *pageTexts
	Title    string
	Project  string
	Key      string
	Subject  string
	Closed   bool
	Done     bool
	Forms    bool
	CSRF     string
	Base     string
	Scores   []ratingScore
	Comment  string
	Existing string
}

type ratingScore struct {
	Score   int
	Label   string
	Checked bool
}

func (s *server) ratingScale(project string) int {
	if s.opts.Pages.RatingScale != nil && s.opts.Pages.RatingScale(project) == 2 {
		return 2
	}
	return 5
}

func (s *server) ratingPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	var (
		tok *store.Token
		t   *store.Ticket
		rt  *store.Rating
	)
	err := s.store.View(func(tx store.Tx) error {
		var err error
		if tok, t, err = pageLink(tx, token, store.TokenRating, s.opts.Now()); err != nil {
			return err
		}
		if rt, err = tx.Rating(t.Key, strings.ToLower(tok.Recipient)); errors.Is(err, store.ErrNotFound) {
			rt, err = nil, nil
		}
		return err
	})
	if !s.answerResolve(w, r, err) {
		return
	}
	tx := s.lang.forTag(t.Language)
	pt := pageTextsFor(tx)
	scale := s.ratingScale(t.Project)
	v := &ratingPage{T: tx, P: pt, Project: s.projectName(t.Project), Key: t.Key, Subject: strings.TrimSpace(t.Subject),
		Base: s.prefix + "/r/" + token, Closed: !t.Closed.IsZero(), Done: r.URL.Query().Get("done") != ""}
	v.Title = pt.RateTitle + " " + t.Key
	want := 0
	if rt != nil {
		want, v.Comment = rt.Score, rt.Comment
		v.Existing = scoreLabel(pt, rt.Score, scale)
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("s")); err == nil && n >= 1 && n <= scale {
		want = n
	}
	for n := scale; n >= 1; n-- {
		v.Scores = append(v.Scores, ratingScore{Score: n, Label: scoreLabel(pt, n, scale), Checked: n == want})
	}
	if !v.Closed && len(s.opts.Secret) > 0 && s.opts.Pages.Rate != nil {
		v.Forms, v.CSRF = true, s.csrfToken(token)
	}
	s.render(w, http.StatusOK, "rating", v)
}

func scoreLabel(pt *pageTexts, score, scale int) string {
	if scale == 2 {
		if score == 2 {
			return pt.Good
		}
		return pt.Bad
	}
	return strings.Repeat("★", score) + strings.Repeat("☆", scale-score)
}

func (s *server) ratePost(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		return
	}
	if s.opts.Pages.Rate == nil || !s.csrfOK(r, token) {
		tx := s.lang.forRequest(r.Header.Get("Accept-Language"))
		s.problem(w, http.StatusForbidden, tx, tx.ErrorTitle, tx.FormExpired)
		return
	}
	score, err := strconv.Atoi(r.PostFormValue("score"))
	if err != nil {
		// No score picked: the page again, nothing recorded.
		http.Redirect(w, r, s.prefix+"/r/"+token, http.StatusSeeOther)
		return
	}
	err = s.opts.Pages.Rate(r.Context(), token, score, r.PostFormValue("comment"))
	switch {
	case err == nil:
		http.Redirect(w, r, s.prefix+"/r/"+token+"?done=1", http.StatusSeeOther)
	case errors.Is(err, ErrLinkRefused):
		// Closed meanwhile, or a score off the scale: the page says
		// how things stand.
		s.log.Info("rating refused", "err", err)
		http.Redirect(w, r, s.prefix+"/r/"+token, http.StatusSeeOther)
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("rating page: store", "err", err)
		s.serverError(w, r, fault.IsTemporary(err))
	}
}
