// Command ociimage builds Touchbase's container image as an OCI image
// layout on disk, without a container engine or a registry, and checks one.
//
//	ociimage build -binary dist/touchbase -version v1.2.3 -out dist/oci
//	ociimage verify dist/oci
//	ociimage export dist/oci > rootfs.tar   # the image's file system
//
// The image is what packaging/Containerfile builds from
// gcr.io/distroless/static:nonroot, made from nothing: one layer with the
// static binary, the host's CA bundle (the daemon speaks TLS to IMAP,
// CalDAV and webhook receivers), /etc/passwd and /etc/group with the
// non-root user 65532 (distroless's "nonroot"), and the folders the daemon
// writes, owned by that user. No time zone files: the binary embeds
// time/tzdata. Times are SOURCE_DATE_EPOCH (or 0), so that the same inputs
// give the same digests.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's contract, checked by verify.
const (
	binaryPath = "usr/bin/touchbase"
	user       = "65532:65532"
	dataDir    = "/var/lib/touchbase"
	runDir     = "/run/touchbase" // listen.socket's default folder
	configPath = "/etc/touchbase/touchbase.yaml"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ociimage build -binary PATH -version V -out DIR | ociimage verify DIR | ociimage export DIR")
	}
	switch args[0] {
	case "build":
		fs := flag.NewFlagSet("build", flag.ContinueOnError)
		bin := fs.String("binary", "", "the static touchbase binary")
		version := fs.String("version", "dev", "the image's version label")
		out := fs.String("out", "", "the OCI layout folder to write (must not exist)")
		cas := fs.String("ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "the CA bundle to ship")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *bin == "" || *out == "" {
			return errors.New("build needs -binary and -out")
		}
		return build(*bin, *cas, *version, *out)
	case "verify", "export":
		if len(args) != 2 {
			return fmt.Errorf("usage: ociimage %s DIR", args[0])
		}
		img, err := only(args[1])
		if err != nil {
			return err
		}
		if args[0] == "export" {
			rc := mutate.Extract(img)
			defer rc.Close()
			_, err := io.Copy(os.Stdout, rc)
			return err
		}
		return verify(args[1], img)
	}
	return fmt.Errorf("unknown command %q: want build or verify", args[0])
}

// epoch is the time stamped on the image and its files.
func epoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

func build(binPath, caPath, version, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists: remove it first", out)
	}
	when, err := epoch()
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return err
	}
	cas, err := os.ReadFile(caPath)
	if err != nil {
		return fmt.Errorf("read the CA bundle (apt-get install ca-certificates): %w", err)
	}
	data, err := rootfs(bin, cas, when)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return fmt.Errorf("make layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: when}, CreatedBy: "packaging/ociimage", Comment: "touchbase " + version}}); err != nil {
		return fmt.Errorf("add layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = runtime.GOARCH, "linux", v1.Time{Time: when}
	cf.Config = v1.Config{
		User:       user,
		Entrypoint: []string{"/" + binaryPath},
		Cmd:        []string{"daemon", "--config", configPath},
		Env:        []string{"PATH=/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		WorkingDir: dataDir,
		Volumes:    map[string]struct{}{dataDir: {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":   "touchbase",
			"org.opencontainers.image.version": version,
			"org.opencontainers.image.source":  "https://github.com/touchbase/touchbase",
		},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return fmt.Errorf("set config: %w", err)
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return fmt.Errorf("write layout: %w", err)
	}
	// The index entry by hand: layout.AppendImage would mark the image an
	// OCI 1.1 artifact (artifactType), which it is not.
	if err := p.WriteImage(img); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1,
		Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH},
		// ref.name is the tag; containerd (and Docker's load) name the image by the other.
		Annotations: map[string]string{"org.opencontainers.image.ref.name": version,
			"io.containerd.image.name": "docker.io/library/touchbase:" + version}}
	if desc.Size, err = img.Size(); err != nil {
		return err
	}
	if desc.Digest, err = img.Digest(); err != nil {
		return err
	}
	return p.AppendDescriptor(desc)
}

// entry is one file or folder of the image (data nil: a folder).
type entry struct {
	name string
	mode int64
	uid  int
	data []byte
}

const nonroot = 65532

// entries are the image's files, each folder before what it holds.
func entries(bin, cas []byte) []entry {
	return []entry{
		{"etc", 0o755, 0, nil},
		{"etc/passwd", 0o644, 0, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{"etc/group", 0o644, 0, []byte("root:x:0:\nnonroot:x:65532:\n")},
		{"etc/ssl", 0o755, 0, nil},
		{"etc/ssl/certs", 0o755, 0, nil},
		{"etc/ssl/certs/ca-certificates.crt", 0o644, 0, cas},
		{"etc/touchbase", 0o755, 0, nil}, // the configuration is mounted here
		{"home", 0o755, 0, nil},
		{"home/nonroot", 0o700, nonroot, nil},
		{"run", 0o755, 0, nil},
		{runDir[1:], 0o750, nonroot, nil},
		{"tmp", 0o1777, 0, nil},
		{"usr", 0o755, 0, nil},
		{"usr/bin", 0o755, 0, nil},
		{binaryPath, 0o755, 0, bin},
		{"var", 0o755, 0, nil},
		{"var/lib", 0o755, 0, nil},
		{dataDir[1:], 0o750, nonroot, nil},
	}
}

// rootfs is the layer's tar.
func rootfs(bin, cas []byte, when time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries(bin, cas) {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.uid, Size: int64(len(e.data)),
			ModTime: when, Format: tar.FormatPAX}
		if e.data == nil {
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("make layer: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("make layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
