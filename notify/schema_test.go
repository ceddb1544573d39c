package notify

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/templates"
)

// TestDataFields holds every getter of dataFields to what reflection
// (text/template's way) finds at its path in the same data, with and
// without a message, and its kind to the field's Go type: a field renamed
// or retyped in data fails here, not in a mail.
func TestDataFields(t *testing.T) {
	full := renderData("en", "customer/request_created")
	full.Reopened, full.RatingScale = true, 4
	noMsg := renderData("de", "internal/request_created")
	noMsg.Message = nil
	empty := &data{}
	for path, f := range dataFields {
		get, kind := empty.TemplateField(strings.Split(path, "."))
		if get == nil || kind != f.kind {
			t.Fatalf("%s: TemplateField gives %v, kind %v", path, get != nil, kind)
		}
		for _, d := range []*data{full, noMsg, empty} {
			v := reflect.ValueOf(d).Elem()
			reachable := true
			for _, name := range strings.Split(path, ".") {
				if v.Kind() == reflect.Pointer {
					if v.IsNil() {
						reachable = false
						break
					}
					v = v.Elem()
				}
				v = v.FieldByName(name)
				if !v.IsValid() {
					t.Fatalf("%s: data has no such field", path)
				}
			}
			got, ok := get(d)
			if !reachable {
				if ok {
					t.Errorf("%s: read through a nil pointer: %+v", path, got)
				}
				continue
			}
			if !ok {
				t.Errorf("%s: not read", path)
				continue
			}
			var want templates.Value
			switch v.Kind() {
			case reflect.String:
				want = templates.Value{Kind: templates.KindString, S: v.String()}
			case reflect.Slice:
				want = templates.Value{Kind: templates.KindStrings, L: v.Interface().([]string)}
			case reflect.Bool:
				want = templates.Value{Kind: templates.KindBool, B: v.Bool()}
			case reflect.Int:
				want = templates.Value{Kind: templates.KindInt, I: int(v.Int())}
			case reflect.Struct:
				want = templates.Value{Kind: templates.KindStruct, B: true}
			case reflect.Pointer:
				want = templates.Value{Kind: templates.KindStruct, B: !v.IsNil()}
			default:
				t.Fatalf("%s: field of kind %s", path, v.Kind())
			}
			if v.Kind() == reflect.String && v.Type() != reflect.TypeFor[string]() {
				t.Errorf("%s: of type %s, not a plain string", path, v.Type())
			}
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
				t.Errorf("%s: getter %#v, reflection %#v", path, got, want)
			}
		}
	}
	if get, _ := empty.TemplateField([]string{"Ratings"}); get != nil {
		t.Error("a list of structs is given a getter")
	}
}
