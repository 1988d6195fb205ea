package rest_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// openAPIDoc is the part of an OpenAPI document the test reads.
type openAPIDoc struct {
	OpenAPI    string                    `yaml:"openapi"`
	Paths      map[string]map[string]any `yaml:"paths"`
	Components map[string]map[string]any `yaml:"components"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}

// TestOpenAPIMatchesRoutes holds openapi.yaml to the server: every
// registered route is documented, every documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc openAPIDoc
	if err := yaml.Unmarshal(rest.OpenAPI, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, item := range doc.Paths {
		for key, v := range item {
			if !httpMethods[key] {
				continue // parameters, summary
			}
			op, _ := v.(map[string]any)
			documented = append(documented, strings.ToUpper(key)+" "+path)
			if _, ok := op["responses"]; !ok {
				t.Errorf("%s %s has no responses", key, path)
			}
			if _, ok := op["operationId"]; !ok {
				t.Errorf("%s %s has no operationId", key, path)
			}
		}
	}
	srv, err := rest.New(rest.Config{Backend: resttest.NewFake()})
	if err != nil {
		t.Fatal(err)
	}
	served := srv.Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("openapi.yaml paths (-documented +served):\n%s", diff)
	}
}

// TestOpenAPIRefsResolve checks that every $ref points at a component.
func TestOpenAPIRefsResolve(t *testing.T) {
	var doc openAPIDoc
	if err := yaml.Unmarshal(rest.OpenAPI, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	var raw any
	if err := yaml.Unmarshal(rest.OpenAPI, &raw); err != nil {
		t.Fatal(err)
	}
	refs := 0
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "$ref" {
					refs++
					ref, _ := x.(string)
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 || doc.Components[parts[0]][parts[1]] == nil {
						t.Errorf("%s: $ref %q does not resolve", where, ref)
					}
					continue
				}
				walk(where+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", where, i), x)
			}
		}
	}
	walk("", raw)
	if refs == 0 {
		t.Error("no $ref found: the walk is broken")
	}
}

// TestOpenAPIDocumentsNetworkFields holds the network schemas to the Go
// types: every JSON field of rest.NetworkSpec, rest.NetworkStatus and
// rest.ControllerStatus is a property of its schema.
func TestOpenAPIDocumentsNetworkFields(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(rest.OpenAPI, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	props := func(v any, path ...string) map[string]any {
		for _, p := range path {
			m, _ := v.(map[string]any)
			v = m[p]
		}
		m, _ := v.(map[string]any)
		return m
	}
	schemas := doc.Components.Schemas
	for _, tt := range []struct {
		name  string
		typ   reflect.Type
		props map[string]any
	}{
		{"NetworkSpec", reflect.TypeFor[rest.NetworkSpec](), props(schemas, "NetworkSpec", "properties")},
		{"NetworkStatus", reflect.TypeFor[rest.NetworkStatus](), props(schemas, "NetworkStatus", "properties")},
		{"NetworkStatus.controllers", reflect.TypeFor[rest.ControllerStatus](), props(schemas, "NetworkStatus", "properties", "controllers", "items", "properties")},
	} {
		if len(tt.props) == 0 {
			t.Errorf("%s: no properties in openapi.yaml", tt.name)
			continue
		}
		for _, field := range jsonFields(tt.typ) {
			if _, ok := tt.props[field]; !ok {
				t.Errorf("%s: field %s is not in openapi.yaml", tt.name, field)
			}
		}
	}
}

// jsonFields are the JSON names of a struct's fields, embedded ones
// included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name != "-" && f.IsExported() {
			out = append(out, name)
		}
	}
	return out
}
