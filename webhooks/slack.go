package webhooks

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// eventView is what the Slack renderer reads from a standard body; the
// field names are the SPEC's, so it decodes any producer's payload.
type eventView struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      struct {
		AlertID  string `json:"alert_id"`
		Customer struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Owner    string `json:"owner"`
			Timezone string `json:"timezone"`
		} `json:"customer"`
		Commitment struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"commitment"`
		DueAt             *time.Time `json:"due_at"`
		LastInteractionAt *time.Time `json:"last_interaction_at"`
		ReceivedAt        *time.Time `json:"received_at"`
		Subject           string     `json:"subject"`
		Meeting           *struct {
			Subject string    `json:"subject"`
			Start   time.Time `json:"start"`
		} `json:"meeting"`
		Expected            string     `json:"expected"`
		Repeat              int        `json:"repeat"`
		Source              string     `json:"source"`
		FailingSince        *time.Time `json:"failing_since"`
		RecoveredAt         *time.Time `json:"recovered_at"`
		ConsecutiveFailures int        `json:"consecutive_failures"`
		LastError           string     `json:"last_error"`
		Endpoint            string     `json:"endpoint"`
		Reason              *struct {
			Rule string `json:"rule"`
		} `json:"reason"`
	} `json:"data"`
}

// slackBody renders a standard body as a Slack incoming-webhook message
// ({"text": ...}); now is the attempt's time, for "how late". A payload it
// cannot read still gives a message naming the event, rather than a
// delivery that fails for ever.
func slackBody(payload []byte, now time.Time) []byte {
	var ev eventView
	text := "Touchbase event (unreadable payload)"
	if err := json.Unmarshal(payload, &ev); err == nil {
		text = slackText(ev, now)
	}
	b, _ := json.Marshal(struct {
		Text string `json:"text"`
	}{text}) // a string always encodes
	return b
}

func slackText(ev eventView, now time.Time) string {
	d := ev.Data
	switch ev.Type {
	case CommitmentAtRisk, CommitmentSlipped, CommitmentRecovered:
		return commitmentText(ev, now)
	case SyncFailing:
		t := fmt.Sprintf(":rotating_light: Sync source *%s* is failing", esc(d.Source))
		if d.FailingSince != nil {
			t += fmt.Sprintf(" since %s (%s)", stamp(*d.FailingSince, time.UTC), human(now.Sub(*d.FailingSince)))
		}
		if d.ConsecutiveFailures > 0 {
			t += fmt.Sprintf(", %d failed attempts in a row", d.ConsecutiveFailures)
		}
		t += ". The customers whose mail or meetings it carries are unknown until it syncs again."
		if d.LastError != "" {
			t += "\nLast error: " + esc(d.LastError)
		}
		return t
	case SyncRecovered:
		t := fmt.Sprintf(":white_check_mark: Sync source *%s* is syncing again", esc(d.Source))
		if d.FailingSince != nil && d.RecoveredAt != nil {
			t += fmt.Sprintf(" after failing for %s", human(d.RecoveredAt.Sub(*d.FailingSince)))
		}
		return t + "."
	case WebhookTest:
		return fmt.Sprintf(":wave: Test message from Touchbase for webhook *%s*: this channel receives its alerts.", esc(d.Endpoint))
	}
	return "Touchbase event " + esc(ev.Type)
}

// commitmentText renders commitment.* events: who, which commitment, how
// late, and when we last heard of the customer.
func commitmentText(ev eventView, now time.Time) string {
	d, loc := ev.Data, ev.zone()
	who := d.Customer.Name
	if who == "" {
		who = d.Customer.ID
	}
	what := "*" + esc(d.Commitment.Name) + "*"
	if d.Commitment.Type != "" {
		what += " (" + esc(d.Commitment.Type) + ")"
	}
	var b strings.Builder
	switch ev.Type {
	case CommitmentSlipped:
		fmt.Fprintf(&b, ":red_circle: *%s*: %s slipped", esc(who), what)
		if d.DueAt != nil {
			fmt.Fprintf(&b, ", %s late (due %s)", human(now.Sub(*d.DueAt)), stamp(*d.DueAt, loc))
		}
		if d.Repeat > 0 {
			fmt.Fprintf(&b, " [reminder %d]", d.Repeat)
		}
	case CommitmentAtRisk:
		fmt.Fprintf(&b, ":warning: *%s*: %s is at risk", esc(who), what)
		if d.DueAt != nil {
			if left := d.DueAt.Sub(now); left > 0 {
				fmt.Fprintf(&b, ", due in %s (%s)", human(left), stamp(*d.DueAt, loc))
			} else {
				fmt.Fprintf(&b, ", %s past due (%s), within its grace", human(-left), stamp(*d.DueAt, loc))
			}
		}
	default:
		fmt.Fprintf(&b, ":white_check_mark: *%s*: %s is met again", esc(who), what)
	}
	writeContext(&b, ev, now)
	return b.String() + "."
}

// writeContext adds the lines that help act on a commitment event: last
// contact, the waiting message or the meeting concerned, what would
// satisfy it, whose customer it is.
func writeContext(b *strings.Builder, ev eventView, now time.Time) {
	d, loc := ev.Data, ev.zone()
	b.WriteString(".\nLast contact: ")
	if d.LastInteractionAt != nil {
		fmt.Fprintf(b, "%s (%s ago)", stamp(*d.LastInteractionAt, loc), human(now.Sub(*d.LastInteractionAt)))
	} else {
		b.WriteString("none on record")
	}
	if d.ReceivedAt != nil {
		b.WriteString(".\nTheir message ")
		if d.Subject != "" {
			fmt.Fprintf(b, "\u201c%s\u201d ", esc(d.Subject))
		}
		fmt.Fprintf(b, "waiting for a reply arrived %s (%s ago)", stamp(*d.ReceivedAt, loc), human(now.Sub(*d.ReceivedAt)))
	}
	if d.Meeting != nil {
		fmt.Fprintf(b, ".\nMeeting: \u201c%s\u201d on %s", esc(d.Meeting.Subject), stamp(d.Meeting.Start, loc))
	}
	if d.Reason != nil && d.Reason.Rule != "" {
		fmt.Fprintf(b, ".\nRule: %s", esc(d.Reason.Rule))
	}
	if d.Expected != "" {
		fmt.Fprintf(b, ".\nExpected: %s", esc(strings.TrimSuffix(d.Expected, ".")))
	}
	if d.Customer.Owner != "" {
		fmt.Fprintf(b, ".\nOwner: %s", esc(d.Customer.Owner))
	}
}

// stamp formats a time in loc, naming the zone: "Fri 20 Nov 2026 08:00 CET".
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

// zone is where the event's times are shown: the customer's zone when the
// payload names one (commitment events), else UTC.
func (ev eventView) zone() *time.Location {
	if ev.Data.Customer.Timezone != "" {
		if loc, err := time.LoadLocation(ev.Data.Customer.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// human renders a duration coarsely: "under a minute", "45m", "5h 20m",
// "3d 4h". Negative durations are rendered by magnitude.
func human(d time.Duration) string {
	d = d.Abs()
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d < 24*time.Hour:
		return joinUnits(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	}
	return joinUnits(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

func joinUnits(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}

// esc escapes Slack's mrkdwn control characters.
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
