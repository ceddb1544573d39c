package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/store"
)

const pgpUsage = `usage: ticketgate pgp SUBCOMMAND
  keygen --project P [--replace]     generate the project's key (Ed25519/Curve25519) into the store
  import --project P [--replace] FILE|-   store the project's armored secret key
  export --project P                 print the project's public key (armored)
  keys [--address A]                 list the keys learned per address
  forget ADDRESS                     forget an address's keys
  verify ADDRESS                     confirm an address's unverified key
`

// cmdPGP runs the OpenPGP subcommands (issue 19) through the admin API.
func cmdPGP(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, pgpUsage)
		return exitConfig
	}
	sub, rest := args[0], args[1:]
	fs, af := newAdminFlags("pgp "+sub, stderr)
	project := fs.String("project", "", "the project")
	address := fs.String("address", "", "only this address")
	replace := fs.Bool("replace", false, "replace the project's key")
	if parseFlags(fs, rest) != nil {
		return exitConfig
	}
	want := map[string]int{"keygen": 0, "import": 1, "export": 0, "keys": 0, "forget": 1, "verify": 1}
	n, ok := want[sub]
	if !ok || fs.NArg() != n || ((sub == "keygen" || sub == "import" || sub == "export") && *project == "") {
		fmt.Fprint(stderr, pgpUsage)
		return exitConfig
	}
	c, code := af.client(stderr)
	if c == nil {
		return code
	}
	ctx := context.Background()
	q := ""
	if *replace {
		q = "?replace=1"
	}
	switch sub {
	case "keygen", "import":
		var body any
		if sub == "import" {
			var data []byte
			var err error
			if fs.Arg(0) == "-" {
				data, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
			} else {
				data, err = os.ReadFile(fs.Arg(0))
			}
			if err != nil {
				fmt.Fprintf(stderr, "ticketgate: %v\n", err)
				return exitConfig
			}
			body = admin.PGPImport{Armored: string(data)}
		}
		var out admin.PGPProjectKey
		if err := c.Call(ctx, http.MethodPost, "/api/pgp/projects/"+url.PathEscape(*project)+"/"+sub+q, body, &out); err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, out)
			return exitOK
		}
		fmt.Fprintf(stdout, "%s: key %s stored (protected by a passphrase: %v)\n", out.Project, out.Fingerprint, out.Protected)
	case "export":
		var out admin.PGPProjectKey
		if err := c.Call(ctx, http.MethodGet, "/api/pgp/projects/"+url.PathEscape(*project), nil, &out); err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, out)
			return exitOK
		}
		fmt.Fprint(stdout, out.Public)
	case "keys":
		var list []*store.PGPKey
		if err := c.Call(ctx, http.MethodGet, "/api/pgp/keys?address="+url.QueryEscape(*address), nil, &list); err != nil {
			return apiFail(stderr, err)
		}
		if af.json {
			printJSON(stdout, list)
			return exitOK
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ADDRESS\tSTATE\tFINGERPRINT\tSOURCE\tSEEN")
		for _, k := range list {
			for _, e := range []struct {
				state string
				key   *store.PGPPublicKey
			}{{"verified", k.Verified}, {"unverified", k.Unverified}} {
				if e.key != nil {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Address, e.state, e.key.Fingerprint, e.key.Source, e.key.Seen.Local().Format("2006-01-02 15:04"))
				}
			}
		}
		tw.Flush()
	case "forget":
		if err := c.Call(ctx, http.MethodDelete, "/api/pgp/keys/"+url.PathEscape(fs.Arg(0)), nil, nil); err != nil {
			return apiFail(stderr, err)
		}
		fmt.Fprintf(stdout, "the OpenPGP keys of %s are forgotten\n", fs.Arg(0))
	case "verify":
		var k store.PGPKey
		if err := c.Call(ctx, http.MethodPost, "/api/pgp/keys/"+url.PathEscape(fs.Arg(0))+"/verify", nil, &k); err != nil {
			return apiFail(stderr, err)
		}
		fmt.Fprintf(stdout, "%s: key %s is verified\n", k.Address, k.Verified.Fingerprint)
	}
	return exitOK
}
