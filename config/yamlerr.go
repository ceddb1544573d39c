package config

import (
	"bytes"
	"fmt"
	"os"
	"regexp"

	yaml "go.yaml.in/yaml/v3"
)

// yamlLineRE finds the line number in a YAML parser error.
var yamlLineRE = regexp.MustCompile(`^yaml: line \d+: `)

// yamlSyntaxError re-reads the file at path when it is not valid YAML and
// says which line is wrong. The parser's own line is often the start of
// the enclosing block (a mis-indented key deep in `projects:` is reported
// at `projects:`); the first line whose inclusion makes the text
// unparsable is where the reader must look. It returns nil when the file
// parses.
func yamlSyntaxError(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var n yaml.Node
	perr := yaml.Unmarshal(data, &n)
	if perr == nil {
		return nil
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := 1; k <= len(lines); k++ {
		if yaml.Unmarshal(bytes.Join(lines[:k], nil), &n) != nil {
			msg := yamlLineRE.ReplaceAllString(perr.Error(), "")
			return fmt.Errorf("%s:%d: not valid YAML (%s): %q", path, k, msg, bytes.TrimRight(lines[k-1], "\r\n"))
		}
	}
	return fmt.Errorf("%s: not valid YAML: %w", path, perr)
}
