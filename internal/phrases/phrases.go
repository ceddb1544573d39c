// Package phrases builds the per-language texts of a user interface from
// one table that holds every phrase in every language side by side, so a
// phrase cannot be added in one language and forgotten in the other: a
// Phrase literal must name all of them, and Fill fails for a text field
// without its row.
package phrases

import (
	"fmt"
	"reflect"
	"slices"
)

// Phrase is one text in every language the program speaks; none may be
// empty.
type Phrase struct {
	En, De string
}

// Fill sets the exported string fields of en and de (the same struct
// type, one per language) from table, which maps a field's name to its
// phrase. A field without a row, a row that names no exported string
// field, and a phrase empty in a language are errors. Other fields are
// left alone.
func Fill[T any](table map[string]Phrase, en, de *T) error {
	ve, vd := reflect.ValueOf(en).Elem(), reflect.ValueOf(de).Elem()
	if ve.Kind() != reflect.Struct {
		return fmt.Errorf("phrases: %s is not a struct", ve.Type())
	}
	used := 0
	var missing []string
	for i := range ve.NumField() {
		f := ve.Type().Field(i)
		if !f.IsExported() || f.Type.Kind() != reflect.String {
			continue
		}
		p, ok := table[f.Name]
		if !ok {
			missing = append(missing, f.Name)
			continue
		}
		if p.En == "" || p.De == "" {
			missing = append(missing, f.Name)
			continue
		}
		used++
		ve.Field(i).SetString(p.En)
		vd.Field(i).SetString(p.De)
	}
	if len(missing) > 0 {
		return fmt.Errorf("phrases: %s: no phrase in every language for %v", ve.Type(), missing)
	}
	if used != len(table) {
		var unknown []string
		for name := range table {
			if f, ok := ve.Type().FieldByName(name); !ok || !f.IsExported() || f.Type.Kind() != reflect.String {
				unknown = append(unknown, name)
			}
		}
		slices.Sort(unknown)
		return fmt.Errorf("phrases: %s has no text field %v", ve.Type(), unknown)
	}
	return nil
}
