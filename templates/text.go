package templates

import (
	"bytes"
	"fmt"
	"path"
	texttemplate "text/template"
)

// RenderText renders the text template <audience>/<event>.txt in lang,
// falling back to DefaultLanguage, for mail that is plain text only (the
// intake health alerts, issue 21): no .html is needed.
func (s *Set) RenderText(lang, name string, data any) (string, error) {
	tt, err := s.lookupText(lang, name)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tt.Execute(&b, data); err != nil {
		return "", fmt.Errorf("templates: %s text: %w", name, err)
	}
	return b.String(), nil
}

func (s *Set) lookupText(lang, name string) (*texttemplate.Template, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range []string{lang, DefaultLanguage} {
		key := "text-only:" + l + "/" + name
		if tt, ok := s.text[key]; ok {
			return tt, nil
		}
		txt, err := s.read(path.Join(l, name+".txt"))
		if err != nil {
			continue
		}
		tt, err := texttemplate.New(name).Funcs(funcs).Parse(txt)
		if err != nil {
			return nil, fmt.Errorf("templates: %s/%s.txt: %w", l, name, err)
		}
		s.text[key] = tt
		return tt, nil
	}
	return nil, fmt.Errorf("%w: %s (%s)", ErrNoTemplate, name, lang)
}
