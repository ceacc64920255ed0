package caldavsource

import (
	"context"
	"time"

	"github.com/touchbase/touchbase/store"
)

// Store is what a CalDAV source needs of the store: each calendar's sync
// state and objects' ETags, the objects the moving window has reached,
// applying a batch of changes with the state that covers it, and
// forgetting a calendar that went away (*store.Store implements it; see
// there for the contracts).
type Store interface {
	CalDAVCalendars(ctx context.Context, account string) ([]store.CalDAVCalendar, error)
	CalDAVETags(ctx context.Context, account, calendar string) (map[string]string, error)
	CalDAVDue(ctx context.Context, account, calendar string, end time.Time) (map[string]string, error)
	ApplyCalDAV(ctx context.Context, ch store.CalDAVChanges, now time.Time) (store.CalDAVResult, error)
	ForgetCalDAVCalendar(ctx context.Context, account, calendar string, now time.Time) (int, error)
}

var _ Store = (*store.Store)(nil)
