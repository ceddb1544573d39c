package message

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

var (
	dateCommentRE = regexp.MustCompile(`\([^()]*\)`)
	dateWeekdayRE = regexp.MustCompile(`(?i)^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*`)
	// "+0200 CEST", "GMT+0200", "+02:00", "UT"
	dateZoneNameRE = regexp.MustCompile(`([+-]\d{4})\s+[A-Za-z]{1,5}$`)
	dateGMTOffRE   = regexp.MustCompile(`(?i)(?:GMT|UTC|UT)\s*([+-]\d{1,2}):?(\d{2})$`)
	dateColonOffRE = regexp.MustCompile(`([+-]\d{2}):(\d{2})$`)
	dateShortOffRE = regexp.MustCompile(`\s([+-])(\d{3})$`)
	// "09 : 55 : 06" (after comments are removed) and "00:01+0000"
	dateColonSpaceRE = regexp.MustCompile(`\s*:\s*`)
	dateGluedZoneRE  = regexp.MustCompile(`(\d:\d\d)([+-]\d{4})$`)
)

// parseDate reads a Date header leniently. ok is false when nothing
// sensible could be made of it.
func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if t, ok := parseDateCommon(v); ok {
		return t, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	s := cleanDate(v)
	// Layouts tried, in order, after the value has been normalised by
	// cleanDate (no weekday, no comments, single spaces). They cover RFC 5322
	// and its obsolete forms plus what broken mailers and scripts write.
	dateLayouts := [...]string{
		"2 Jan 2006 15:04:05 -0700",
		"2 Jan 2006 15:04 -0700",
		"2 Jan 06 15:04:05 -0700",
		"2 Jan 06 15:04 -0700",
		"2 Jan 2006 15:04:05 MST",
		"2 Jan 2006 15:04 MST",
		"2 Jan 06 15:04:05 MST",
		"2 Jan 2006 15:04:05",
		"2 Jan 2006 15:04",
		"2 January 2006 15:04:05 -0700",
		"2 January 2006 15:04:05 MST",
		"2 January 2006 15:04:05",
		"2-Jan-2006 15:04:05 -0700",
		"2-Jan-2006 15:04:05",
		"Jan 2 2006 15:04:05 -0700",
		"Jan 2 2006 15:04:05",
		"Jan 2 15:04:05 2006",
		"Jan 2 15:04:05 MST 2006",
		"Jan 2 15:04:05 -0700 2006",
		"January 2 2006 15:04:05 -0700",
		"January 2 2006 15:04:05",
		"2006-01-02T15:04:05Z07:00",
		"2006-01-02T15:04:05-0700",
		"2006-01-02T15:04:05",
		"2006-01-02 15:04:05 -0700",
		"2006-01-02 15:04:05 MST",
		"2006-01-02 15:04:05",
		"2006-01-02 15:04",
		"2006/01/02 15:04:05 -0700",
		"2006/01/02 15:04:05",
		"02.01.2006 15:04:05 -0700",
		"02.01.2006 15:04:05",
		"02.01.2006 15:04",
		"2 Jan 2006",
		"2006-01-02",
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	// An unknown zone ("H0500", "CEST+1"): the time itself is still worth
	// more than nothing, read as UTC.
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		head := s[:i]
		for _, layout := range dateLayouts {
			if !strings.HasSuffix(layout, "05") && !strings.HasSuffix(layout, "04") {
				continue
			}
			if t, err := time.Parse(layout, head); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

func cleanDate(v string) string {
	s := v
	for i := 0; i < 3 && strings.Contains(s, "("); i++ {
		s = dateCommentRE.ReplaceAllString(s, " ")
	}
	s = strings.Join(strings.Fields(s), " ")
	s = dateColonSpaceRE.ReplaceAllString(s, ":")
	s = dateGluedZoneRE.ReplaceAllString(s, "$1 $2")
	s = strings.ReplaceAll(s, ", ", " ")
	s = strings.TrimSuffix(s, ",")
	s = dateWeekdayRE.ReplaceAllString(s, "")
	s = dateZoneNameRE.ReplaceAllString(s, "$1")
	if m := dateGMTOffRE.FindStringSubmatch(s); m != nil {
		h := m[1]
		if len(h) == 2 {
			h = h[:1] + "0" + h[1:]
		}
		s = strings.TrimSpace(s[:len(s)-len(m[0])]) + " " + h + m[2]
	}
	s = dateColonOffRE.ReplaceAllString(s, "$1$2")
	s = dateShortOffRE.ReplaceAllString(s, " ${1}0$2")
	s = strings.ReplaceAll(s, " at ", " ")
	return strings.TrimSpace(s)
}

// commonDateLayout is how nearly every mailer writes a Date
// ("Thu, 3 Dec 2026 10:00:00 +0000"). net/mail.ParseDate tries it only
// after twelve layouts without a weekday, each of which fails with an
// allocated *time.ParseError: three allocations apiece on every inbound
// mail.
const commonDateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseDateCommon reads v (trimmed) in commonDateLayout alone. When it
// succeeds, mail.ParseDate(v) answers the same time: the twelve layouts
// it tries first all start with a day number, which a value starting
// with a weekday never matches, its thirteenth is this one, and the value
// it hands to time.Parse is v itself (v has no line break, and its first
// sign is the zone's, which ends v). FuzzParseDateCommon checks it.
func parseDateCommon(v string) (time.Time, bool) {
	if strings.ContainsAny(v, "\r\n") {
		return time.Time{}, false
	}
	t, err := time.Parse(commonDateLayout, v)
	return t, err == nil
}
