package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// tokenFile is the JSON kept in data_dir/tokens/<account>.json. It names
// the client and token endpoint the grant belongs to, so a changed
// configuration is noticed instead of sending a token where it was not
// issued.
type tokenFile struct {
	Account      string    `json:"account"`
	Provider     string    `json:"provider"`
	ClientID     string    `json:"client_id"`
	TokenURL     string    `json:"token_url"`
	Scopes       []string  `json:"scopes,omitempty"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	SignedInAt   time.Time `json:"signed_in_at"`
	RefreshedAt  time.Time `json:"refreshed_at,omitzero"`
}

// readTokenFile reads a token file; a missing one is fs.ErrNotExist.
// Errors never quote the content.
func readTokenFile(path string) (*tokenFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("token file %s is not valid JSON", path)
	}
	return &f, nil
}

// writeTokenFile replaces the token file atomically: a temporary file in
// the same folder (mode 0600), synced, renamed over the old one, and the
// folder synced, so a crash leaves the old token or the new one, never a
// torn file. The folder is created with mode 0700. Run as root (`sudo
// touchbase auth login`), the file and folder are given to the owner of
// data_dir, the daemon's user.
func writeTokenFile(path string, f *tokenFile) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create token folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("token folder: %w", err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*.json")
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = giveToDataDirOwner(dir, tmp.Name())
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write token file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// giveToDataDirOwner chowns the token folder and file to the owner of
// data_dir when running as root, so that the daemon's user can read what
// `sudo touchbase auth login` wrote.
func giveToDataDirOwner(dir, file string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	fi, err := os.Stat(filepath.Dir(dir))
	if err != nil {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	for _, p := range []string{dir, file} {
		if err := os.Chown(p, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return nil
}

// lockTokenFile takes an exclusive lock beside the token file (flock on
// <file>.lock), so that one process at a time refreshes a grant: a
// provider that rotates refresh tokens may revoke the whole grant when an
// old one is used twice. It waits until ctx ends.
func lockTokenFile(ctx context.Context, path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock token file: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock token file: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock token file: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock token file: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// removeTokenFile deletes the token file and its lock file.
func removeTokenFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete token file: %w", err)
	}
	os.Remove(path + ".lock")
	return nil
}
