package ticket

import (
	"errors"
	"slices"
	"strings"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/store"
)

// Macros: canned answers (issue 21). An agent writes "#macro NAME" at the
// top of a mail (their own text may follow): the rendered macro, then
// their text, becomes their public answer. A macro's own command lines at
// its top (#status, #priority, #type) run as if the agent had written
// them. "#macro list" answers with the names.

// ErrNoMacro is returned (wrapped) by a Macros for an unknown name.
var ErrNoMacro = errors.New("no such macro")

// Macros renders canned answers (notify.Notifier in the daemon).
type Macros interface {
	Macro(p *config.Project, t *store.Ticket, name, actor string) (string, error)
	MacroNames(p *config.Project, t *store.Ticket) []string
}

// macroCommands are the commands a macro may carry.
var macroCommands = []string{"status", "priority", "type"}

// applyMacros takes the #macro commands out of cmds: it renders each
// macro before stripped (the agent's text), adds the macro's own commands
// after the others, and returns the answers to tell the agent.
func (e *Engine) applyMacros(p *config.Project, t *store.Ticket, author string, cmds []decide.Command, stripped string) ([]decide.Command, string, []string, error) {
	if !decide.HasCommand(cmds, "macro") {
		return cmds, stripped, nil, nil
	}
	var run, extra []decide.Command
	var told, bodies []string
	for _, c := range cmds {
		if c.Name != "macro" {
			run = append(run, c)
			continue
		}
		if e.Macros == nil {
			told = append(told, "refused: "+c.Line+" — this installation has no macros")
			continue
		}
		if len(c.Args) != 1 {
			told = append(told, "refused: "+c.Line+" — use #macro <name> or #macro list")
			continue
		}
		names := e.Macros.MacroNames(p, t)
		if strings.EqualFold(c.Args[0], "list") {
			list := "none (add templates_dir/<lang>/macros/<name>.txt)"
			if len(names) > 0 {
				list = strings.Join(names, ", ")
			}
			told = append(told, "done: "+c.Line+" — "+list)
			continue
		}
		body, err := e.Macros.Macro(p, t, c.Args[0], author)
		if errors.Is(err, ErrNoMacro) {
			known := "none"
			if len(names) > 0 {
				known = strings.Join(names, ", ")
			}
			told = append(told, "refused: "+c.Line+" — no macro "+c.Args[0]+" (known: "+known+")")
			continue
		} else if err != nil {
			return nil, "", nil, err
		}
		mcmds, rest := decide.ParseCommands(body)
		for _, mc := range mcmds {
			if slices.Contains(macroCommands, mc.Name) {
				extra = append(extra, mc)
			} else {
				told = append(told, "refused: "+mc.Line+" (in macro "+c.Args[0]+") — a macro may set only #"+strings.Join(macroCommands, ", #"))
			}
		}
		told = append(told, "done: "+c.Line)
		bodies = append(bodies, strings.TrimSpace(rest))
	}
	if len(bodies) > 0 {
		if s := strings.TrimSpace(stripped); s != "" {
			bodies = append(bodies, s)
		}
		stripped = strings.Join(bodies, "\n\n") + "\n"
	}
	return append(run, extra...), stripped, told, nil
}
