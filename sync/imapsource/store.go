package imapsource

import (
	"context"

	"github.com/touchbase/touchbase/cadence"
	"github.com/touchbase/touchbase/store"
)

// Store is what an IMAP source needs of the store: each folder's sync
// state, and saving a batch of mail with the state that covers it in one
// transaction (*store.Store implements it; see there for the contracts).
type Store interface {
	FolderStates(ctx context.Context, account string) (map[string]store.FolderState, error)
	SaveMail(ctx context.Context, account, folder string, mails []cadence.Interaction, st store.FolderState) (store.SaveResult, error)
}

var _ Store = (*store.Store)(nil)
