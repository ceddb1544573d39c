package decide

import (
	"slices"
	"strings"
	"unicode"
)

// Command is one "#name args" line from the top of a mail.
type Command struct {
	Name string
	Args []string
	Line string
}

// ParseCommands takes the "#command" lines from the top of text, before
// any other text, and returns them with the rest of the text.
func ParseCommands(text string) ([]Command, string) {
	norm := strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(norm, "\n")
	var cmds []Command
	i := 0
	for ; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		c, ok := parseCommand(l)
		if !ok {
			break
		}
		cmds = append(cmds, c)
	}
	if len(cmds) == 0 {
		return nil, text
	}
	return cmds, strings.TrimLeft(strings.Join(lines[i:], "\n"), "\n")
}

// parseCommand recognises "#word args…": a word of letters right after
// the hash (so "#1 is broken" or "# heading" stay text).
func parseCommand(l string) (Command, bool) {
	if !strings.HasPrefix(l, "#") || len(l) < 2 || len(l) > 200 || !unicode.IsLetter(rune(l[1])) {
		return Command{}, false
	}
	f := strings.Fields(l[1:])
	for _, r := range f[0] {
		if !unicode.IsLetter(r) && r != '_' && r != '-' {
			return Command{}, false
		}
	}
	return Command{Name: strings.ToLower(f[0]), Args: f[1:], Line: l}, true
}

// HasCommand reports whether cmds has one named name.
func HasCommand(cmds []Command, name string) bool {
	return slices.ContainsFunc(cmds, func(c Command) bool { return c.Name == name })
}

// Commands decides which of a mail's commands run: none of a held mail
// (its sender's say is not proven), each told why; all of the others.
// Only a person's mail carries commands (ParseCommands is not called for
// automatic mail).
func Commands(cmds []Command, held string) (run []Command, told []string) {
	if len(cmds) == 0 {
		return nil, nil
	}
	if held != "" {
		return nil, []string{"No command was run: " + held + "."}
	}
	return cmds, nil
}
