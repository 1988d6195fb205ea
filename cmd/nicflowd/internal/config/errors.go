package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The configuration file's errors name the key at fault and its line:
// yaml.v3 says "line 4: cannot unmarshal !!str `x` into []string" or
// "field foo not found in type config.NetworkConfig"; an operator reads
// "line 4: networks[0].ports: want a list of strings, not the string `x`".

var (
	yamlLine      = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown   = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlUnmarshal = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: (`.*`|.*))? into (\\S+)$")
)

// goTypeWords says a Go type of the configuration in the file's words.
var goTypeWords = map[string]string{
	"[]string": "a list of strings", "string": "a string", "int": "an integer", "bool": "true or false",
	"[]config.NetworkConfig": "a list of networks", "config.NetworkConfig": "a network (a mapping of keys)",
	"config.Config": "a mapping of keys",
}

var yamlTagWords = map[string]string{"str": "the string", "int": "the integer", "bool": "the boolean",
	"float": "the number", "seq": "a list", "map": "a mapping", "null": "nothing"}

// yamlError rewrites yaml.v3's decode error of data so that each line of
// it names its key path (networks[0].ports).
func yamlError(data []byte, err error) error {
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // a syntax error has no tree: lines only
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err // a syntax error already says its line
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = describeYAMLError(&root, e)
	}
	return errors.New(strings.Join(msgs, "; "))
}

func describeYAMLError(root *yaml.Node, e string) string {
	m := yamlLine.FindStringSubmatch(e)
	if m == nil {
		return e
	}
	line, _ := strconv.Atoi(m[1])
	what := m[2]
	path, _ := keyAtLine(root, line)
	if u := yamlUnknown.FindStringSubmatch(what); u != nil {
		where := "the top level"
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			where = path[:i]
		} else if path != u[1] && path != "" {
			where = path
		}
		return fmt.Sprintf("line %d: %s: unknown key %q in %s", line, path, u[1], where)
	}
	if u := yamlUnmarshal.FindStringSubmatch(what); u != nil {
		want, ok := goTypeWords[u[3]]
		if !ok {
			want = u[3]
		}
		got := yamlTagWords[u[1]]
		if got == "" {
			got = u[1]
		}
		if strings.HasPrefix(u[2], "`") {
			got += " " + u[2]
		}
		if u[1] == "map" || u[1] == "seq" { // the line of its first key: the path is its parent's
			if i := strings.LastIndexAny(path, ".["); i > 0 {
				path = path[:i]
			}
		}
		return fmt.Sprintf("line %d: %s: want %s, not %s", line, path, want, got)
	}
	return fmt.Sprintf("line %d: %s: %s", line, path, what)
}

// keyAtLine is the key path (networks[1].ports[0]) of the node that
// starts on line, and the last key; "" when none does.
func keyAtLine(n *yaml.Node, line int) (path, key string) {
	var best string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := k.Value
				if path != "" {
					p = path + "." + k.Value
				}
				if k.Line == line && best == "" {
					best = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && c.Kind == yaml.ScalarNode && best == "" {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(n, "")
	if i := strings.LastIndexByte(best, '.'); i >= 0 {
		return best, best[i+1:]
	}
	return best, best
}

// lineOfKey is the line of the key path (networks[0].fail_mode) in data, 0
// when it is not there.
func lineOfKey(data []byte, path string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return 0
	}
	for l := 1; l <= strings.Count(string(data), "\n")+1; l++ {
		if p, _ := keyAtLine(&root, l); p == path {
			return l
		}
	}
	return 0
}

// keyPathOf is the key path an error of normalize starts with
// ("networks[0].fail_mode: ..." -> "networks[0].fail_mode").
var keyPathOf = regexp.MustCompile(`^([a-z_]+(\[\d+\])?(\.[a-z_]+(\[\d+\])?)*): `)

// withLine prefixes normalize's error with the line of the key it names.
func withLine(data []byte, err error) error {
	m := keyPathOf.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	if l := lineOfKey(data, m[1]); l > 0 {
		return fmt.Errorf("line %d: %w", l, err)
	}
	return err
}
