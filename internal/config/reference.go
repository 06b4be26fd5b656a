package config

import (
	"fmt"
	"reflect"
	"strings"
)

// Reference returns a Markdown table of every key: its YAML path, type,
// default (outside systemd), environment variable and description, generated
// from the Config struct and its doc tags so the documentation cannot drift.
func Reference() string {
	c := defaults(func(string) string { return "" })
	var b strings.Builder
	b.WriteString("| key | type | default | environment | description |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for _, l := range leaves(reflect.ValueOf(&c).Elem(), nil) {
		env := "`" + l.Env() + "`"
		if l.value.Kind() == reflect.Slice {
			env = "(file only)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n",
			l.Key(), typeName(l.value.Type()), defaultText(l.value), env, escapeCell(l.doc))
		if t := l.value.Type(); t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
			// Document the fields of one list element, e.g. cameras[].name.
			elem := reflect.New(t.Elem()).Elem()
			for _, e := range leaves(elem, []string{l.Key() + "[]"}) {
				fmt.Fprintf(&b, "| `%s` | %s | %s | (file only) | %s |\n",
					e.Key(), typeName(e.value.Type()), defaultText(e.value), escapeCell(e.doc))
			}
		}
	}
	return b.String()
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		return "list of " + strings.ToLower(t.Elem().Name())
	case t.Kind() == reflect.Slice:
		return "list of " + t.Elem().Kind().String()
	case t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Int:
		return "integer"
	}
	return t.Kind().String()
}

func defaultText(v reflect.Value) string {
	switch {
	case v.Kind() == reflect.Slice:
		return "`[]`"
	case v.Kind() == reflect.String && v.String() == "":
		return `""`
	}
	return "`" + fmt.Sprint(v.Interface()) + "`"
}

func escapeCell(s string) string { return cellEscaper.Replace(s) }

// cellEscaper keeps table cells intact: | would end the cell and <name>
// would be taken for an HTML tag.
var cellEscaper = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")
