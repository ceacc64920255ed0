package demo

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// AppendIMAP logs in to the IMAP server at addr over plain TCP (a loopback
// or test server) and APPENDs each mail to its Folder with its Flags and
// its Date as INTERNALDATE, ignoring Owner. Folder Sent means the mailbox
// with the \Sent attribute (RFC 6154), whatever its name. It stops at the
// first error, or when ctx ends.
func AppendIMAP(ctx context.Context, addr, username, password string, mails []Mail) error {
	c, err := DialIMAP(ctx, addr, username, password)
	if err != nil {
		return err
	}
	defer c.Close()
	sent, err := SentMailbox(c)
	if err != nil {
		return err
	}
	for _, m := range mails {
		folder := m.Folder
		if folder == Sent {
			folder = sent
		}
		cmd := c.Append(folder, int64(len(m.Raw)), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
		if _, err := cmd.Write(m.Raw); err != nil {
			return fmt.Errorf("append %s to %s: %w", m.MessageID, folder, ctxErr(ctx, err))
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("append %s to %s: %w", m.MessageID, folder, ctxErr(ctx, err))
		}
		if _, err := cmd.Wait(); err != nil {
			return fmt.Errorf("append %s to %s: %w", m.MessageID, folder, ctxErr(ctx, err))
		}
	}
	if err := c.Logout().Wait(); err != nil {
		return fmt.Errorf("logout from %s: %w", addr, ctxErr(ctx, err))
	}
	return nil
}

// DialIMAP connects to addr over plain TCP and logs in. go-imap has no
// context support, so the connection is closed when ctx ends; the caller
// closes the client when done.
func DialIMAP(ctx context.Context, addr, username, password string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, fmt.Errorf("dial IMAP %s: %w", addr, err)
	}
	context.AfterFunc(ctx, func() { c.Close() })
	if err := c.Login(username, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("log in to %s as %s: %w", addr, username, ctxErr(ctx, err))
	}
	return c, nil
}

// SentMailbox finds the mailbox with the \Sent attribute; servers without
// SPECIAL-USE get the conventional name Sent.
func SentMailbox(c *imapclient.Client) (string, error) {
	var opts *imap.ListOptions
	if c.Caps().Has(imap.CapSpecialUse) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	boxes, err := c.List("", "*", opts).Collect()
	if err != nil {
		return "", fmt.Errorf("list mailboxes: %w", err)
	}
	for _, b := range boxes {
		for _, a := range b.Attrs {
			if a == imap.MailboxAttrSent {
				return b.Mailbox, nil
			}
		}
	}
	return Sent, nil
}

// ctxErr prefers the context's error: a closed connection is only the
// symptom of a cancelled context.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
