package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/touchbase/touchbase/daemon"
	"github.com/touchbase/touchbase/oauth"
)

func newAuthCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Sign accounts with auth: oauth2 in and out (Google, Microsoft, custom providers)",
		Long: `Sign in the accounts whose imap or caldav block has auth: oauth2, see their
grants, sign them out. The grant (refresh and access token) is kept in
data_dir/tokens/ACCOUNT.json, mode 0600 in a 0700 folder; the daemon renews
the access token before it expires. Run these commands as the daemon's
user (or as root: the token file is then given to data_dir's owner).`,
	}
	cmd.AddCommand(newAuthLoginCmd(g), newAuthStatusCmd(g), newAuthLogoutCmd(g))
	return cmd
}

func newAuthLoginCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "login ACCOUNT",
		Short: "Sign an account in and store its OAuth grant",
		Long: `Sign the account in with its provider and store the grant in
data_dir/tokens/ACCOUNT.json, replacing an earlier one.

Microsoft and custom providers with a device_auth_url use the device flow
(RFC 8628): open the printed address on any device, enter the code, and the
command returns once you approved. Google (and custom providers with only an
auth_url) use the browser flow: open the printed address; the browser comes
back to a port on 127.0.0.1 of this machine. When the browser runs on
another machine it ends on a page that cannot be reached: paste that page's
address here. The grant is never printed or logged.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return authLogin(cmd.Context(), g, args[0], cmd.InOrStdin())
		}),
	}
}

func newAuthStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Each OAuth account's grant: signed in, scopes, access token expiry",
		Long: `List every account with auth: oauth2: whether it is signed in, the scopes
granted, whether a refresh token is kept, when the access token expires
(the daemon renews it 5 minutes before) and when it was last renewed. It
reads the token files only and contacts no provider. Exit status 1 when an
account is not signed in or its grant lacks a configured scope.`,
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, _ []string) error { return authStatus(g, asJSON) }),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAuthLogoutCmd(g *globals) *cobra.Command {
	var local bool
	cmd := &cobra.Command{
		Use:   "logout ACCOUNT",
		Short: "Revoke an account's OAuth grant at the provider and delete it",
		Long: `Revoke the account's grant at the provider's revocation endpoint (RFC 7009;
Google has one, Microsoft has none) and delete its token file. When the
revocation fails the file is kept; --local deletes it without revoking.`,
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return authLogout(cmd.Context(), g, args[0], local)
		}),
	}
	cmd.Flags().BoolVar(&local, "local", false, "delete the token file without revoking the grant")
	return cmd
}

// oauthClient loads the configuration and returns the client of the named
// account.
func oauthClient(g *globals, name string) (*oauth.Client, error) {
	cfg, err := daemon.LoadConfig(g.config)
	if err != nil {
		return nil, err
	}
	acct, ok := cfg.Account(name)
	if !ok {
		return nil, usageError("no account %q in %s", name, cfg.Path)
	}
	if acct.OAuth == nil {
		return nil, usageError("account %s does not use auth: oauth2 (neither its imap nor its caldav block)", name)
	}
	return oauth.New(acct)
}

func authLogin(ctx context.Context, g *globals, name string, in io.Reader) error {
	c, err := oauthClient(g, name)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	st, err := c.Login(ctx, g.stdout, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "\nSigned in %s (%s): grant saved in %s.\n", st.Account, st.Provider, st.File)
	fmt.Fprintf(g.stdout, "Scopes: %s.\n", strings.Join(st.Scopes, " "))
	if st.Expiry != nil {
		fmt.Fprintf(g.stdout, "The access token expires at %s; the daemon renews it.\n", st.Expiry.Local().Format(time.DateTime))
	}
	if !st.Refreshable {
		fmt.Fprintf(g.stderr, "warning: the provider gave no refresh token: %s must sign in again when the access token expires\n", name)
	}
	if len(st.MissingScopes) > 0 {
		fmt.Fprintf(g.stderr, "warning: the grant lacks %s: approve every permission asked for\n", strings.Join(st.MissingScopes, ", "))
	}
	return nil
}

func authStatus(g *globals, asJSON bool) error {
	cfg, err := daemon.LoadConfig(g.config)
	if err != nil {
		return err
	}
	sts := []oauth.Status{}
	for _, a := range cfg.Accounts {
		if a.OAuth == nil {
			continue
		}
		c, err := oauth.New(a)
		if err != nil {
			return err
		}
		sts = append(sts, c.Status())
	}
	if asJSON {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sts); err != nil {
			return err
		}
	} else {
		printAuthStatus(g.stdout, sts)
	}
	bad := 0
	for _, st := range sts {
		if st.Problem != "" {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d oauth2 accounts cannot sync: sign them in with `touchbase auth login ACCOUNT`", bad, len(sts))
	}
	return nil
}

// printAuthStatus renders one row per account.
func printAuthStatus(w io.Writer, sts []oauth.Status) {
	if len(sts) == 0 {
		fmt.Fprintln(w, "No account uses auth: oauth2.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tPROVIDER\tTOKEN\tSCOPES\tACCESS EXPIRES\tRENEWED")
	for _, st := range sts {
		token := "signed in"
		if st.SignedIn && !st.Refreshable {
			token = "signed in, no refresh token"
		}
		if st.Problem != "" {
			token = st.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Account, st.Provider, token,
			dash(strings.Join(st.Scopes, " ")), timeOrDash(st.Expiry), timeOrDash(st.RefreshedAt))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func authLogout(ctx context.Context, g *globals, name string, local bool) error {
	c, err := oauthClient(g, name)
	if err != nil {
		return err
	}
	revoked, err := c.Logout(ctx, local)
	if err != nil {
		return err
	}
	switch {
	case revoked:
		fmt.Fprintf(g.stdout, "Signed out %s: the grant is revoked at %s and %s deleted.\n", name, c.Provider(), c.TokenFile())
	case local:
		fmt.Fprintf(g.stdout, "Signed out %s: %s deleted; the grant was not revoked at %s.\n", name, c.TokenFile(), c.Provider())
	default:
		fmt.Fprintf(g.stdout, "Signed out %s: %s deleted.\n", name, c.TokenFile())
		fmt.Fprintf(g.stdout, "%s offers no revocation endpoint: the grant stays valid there until it expires; remove the app's permissions in your account (or have an admin revoke your sessions) to end it now.\n", c.Provider())
	}
	return nil
}
