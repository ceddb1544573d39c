package phrases

import (
	"strings"
	"testing"
)

type texts struct {
	Lang, Hello string
	Count       int
	months      [2]string
}

// TestFill: every exported string field gets its phrase in each language;
// other fields are left alone.
func TestFill(t *testing.T) {
	en, de := &texts{Count: 1, months: [2]string{"Jan", "Feb"}}, &texts{}
	err := Fill(map[string]Phrase{"Lang": {En: "en", De: "de"}, "Hello": {En: "Hello", De: "Hallo"}}, en, de)
	if err != nil {
		t.Fatal(err)
	}
	if *en != (texts{Lang: "en", Hello: "Hello", Count: 1, months: [2]string{"Jan", "Feb"}}) || *de != (texts{Lang: "de", Hello: "Hallo"}) {
		t.Errorf("filled en %+v, de %+v", en, de)
	}
}

// TestFillRefusesGaps: a text field without its phrase, and a phrase
// without its field, are errors that name them.
func TestFillRefusesGaps(t *testing.T) {
	err := Fill(map[string]Phrase{"Lang": {En: "en", De: "de"}}, &texts{}, &texts{})
	if err == nil || !strings.Contains(err.Error(), "Hello") {
		t.Errorf("missing phrase: %v", err)
	}
	err = Fill(map[string]Phrase{"Lang": {En: "en", De: "de"}, "Hello": {En: "Hello"}}, &texts{}, &texts{})
	if err == nil || !strings.Contains(err.Error(), "[Hello]") {
		t.Errorf("phrase without its German: %v", err)
	}
	err = Fill(map[string]Phrase{"Lang": {En: "en", De: "de"}, "Hello": {En: "Hello", De: "Hallo"}, "Count": {En: "1", De: "1"}, "Bye": {En: "Bye", De: "Tschüss"}}, &texts{}, &texts{})
	if err == nil || !strings.Contains(err.Error(), "[Bye Count]") {
		t.Errorf("phrases without a text field: %v", err)
	}
}
