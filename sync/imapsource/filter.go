package imapsource

import (
	"mime"
	"strings"

	"github.com/touchbase/touchbase/cadence"
)

// autoReplyPrefixes start the subjects of vacation and out-of-office
// replies from responders that set no header saying so (lower case, the
// colon included so "Out of office next week" still counts).
var autoReplyPrefixes = []string{
	"automatic reply:", "auto-reply:", "autoreply:", "auto reply:",
	"out of office:", "out of office reply:", "out of the office:",
	"abwesenheitsnotiz:", "automatische antwort:", "réponse automatique :",
	"réponse automatique:", "respuesta automática:", "risposta automatica:",
	"automatisch antwoord:",
}

// bounceSubjects start the subjects of delivery failure reports from
// servers that send them without multipart/report.
var bounceSubjects = []string{
	"undeliverable:", "undelivered mail returned to sender",
	"delivery status notification (failure)", "mail delivery failed",
	"returned mail:", "failure notice", "delivery failure",
}

// filter decides the source-set filter (SPEC "Interactions that never
// count"), the most specific reason first: a bounce, an auto-reply, other
// automated mail, list mail, bulk mail.
func (h *header) filter(subject, sender string) cadence.Filter {
	subj := strings.ToLower(subject)
	report := ""
	if ct := h[fContentType]; containsFold(ct, "report") { // parsed only when it may be multipart/report
		if mediaType, params, _ := mime.ParseMediaType(ct); mediaType == "multipart/report" {
			report = strings.ToLower(params["report-type"])
		}
	}
	auto := strings.ToLower(token(h[fAutoSubmitted]))
	prec := strings.ToLower(token(h[fPrecedence]))
	switch {
	case report == "delivery-status", h.has(fXFailedRecipients), isDaemon(sender), hasPrefix(subj, bounceSubjects):
		return cadence.Bounce
	case auto == "auto-replied", h.has(fXAutoreply), h.has(fXAutorespond), prec == "auto_reply",
		hasPrefix(subj, autoReplyPrefixes):
		return cadence.AutoReply
	case auto != "" && auto != "no", report != "", nullSender(h[fReturnPath]):
		// A null envelope sender (RFC 5321 "<>") is how mail systems send
		// what no human wrote: notifications, receipts, reports.
		return cadence.Automated
	case h.has(fListID):
		return cadence.List
	case prec == "bulk", prec == "list", prec == "junk", h.has(fListUnsubscribe):
		// List-Unsubscribe is what newsletters and notification mailers
		// carry (bulk senders must, per Gmail and Yahoo rules since 2024);
		// person-to-person mail never does.
		return cadence.Bulk
	}
	return cadence.Counts
}

// token returns the first word of a structured value, without parameters
// or comments ("auto-generated; type=x (c)" → "auto-generated").
func token(v string) string {
	v = stripComments(v)
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return strings.Trim(strings.TrimSpace(v), `"`)
}

// isDaemon reports whether the sender is a mail system's own address
// (MAILER-DAEMON, postmaster), the sender of bounces.
func isDaemon(sender string) bool {
	local, _, _ := strings.Cut(sender, "@")
	return local == "mailer-daemon" || local == "postmaster"
}

// nullSender reports whether a Return-Path is the null path "<>".
func nullSender(v string) bool {
	return strings.Join(strings.Fields(stripComments(v)), "") == "<>"
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII substr in
// any case.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}
