package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// only returns the one image in the OCI layout dir.
func only(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) != 1 {
		return nil, fmt.Errorf("%s: %d images, want 1", dir, len(im.Manifests))
	}
	return idx.Image(im.Manifests[0].Digest)
}

// verify checks img against the image's contract: run as the non-root
// user, the data folder a volume, the binary's entrypoint, and its layer
// holding an executable binary and the folders the daemon writes, owned
// by that user.
func verify(dir string, img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	c := cf.Config
	var problems []string
	if c.User != user {
		problems = append(problems, fmt.Sprintf("user %q, want %q (non-root)", c.User, user))
	}
	if _, ok := c.Volumes[dataDir]; !ok {
		problems = append(problems, fmt.Sprintf("volumes %v lack %s", c.Volumes, dataDir))
	}
	if !slices.Equal(c.Entrypoint, []string{"/" + binaryPath}) {
		problems = append(problems, fmt.Sprintf("entrypoint %q, want /%s", c.Entrypoint, binaryPath))
	}
	if cf.OS != "linux" || cf.Architecture == "" {
		problems = append(problems, fmt.Sprintf("platform %s/%s", cf.OS, cf.Architecture))
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	seen := map[string]*tar.Header{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rc.Close()
				return fmt.Errorf("read layer: %w", err)
			}
			seen[strings.TrimSuffix(h.Name, "/")] = h
		}
		rc.Close()
	}
	for _, want := range []struct {
		name string
		uid  int
		exec bool
	}{{binaryPath, 0, true}, {dataDir[1:], nonroot, false}, {runDir[1:], nonroot, false},
		{"etc/passwd", 0, false}, {"etc/ssl/certs/ca-certificates.crt", 0, false}} {
		h, ok := seen[want.name]
		switch {
		case !ok:
			problems = append(problems, "no /"+want.name)
		case h.Uid != want.uid:
			problems = append(problems, fmt.Sprintf("/%s owned by %d, want %d", want.name, h.Uid, want.uid))
		case want.exec && (h.Mode&0o111 == 0 || h.Size == 0):
			problems = append(problems, fmt.Sprintf("/%s: mode %o, %d bytes: not an executable", want.name, h.Mode, h.Size))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("image in %s: %s", dir, strings.Join(problems, "; "))
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s: image %s, user %s, volume %s, entrypoint %s\n", dir, digest, c.User, dataDir, c.Entrypoint[0])
	return nil
}
