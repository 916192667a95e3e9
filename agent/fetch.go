package agent

import (
	"archive/tar"
	"archive/zip"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// fetchTimeout bounds one http(s) download.
const fetchTimeout = 5 * time.Minute

// FetchAll fetches every URI into the sandbox as the Mesos fetcher does:
// the file is named after the URI's last path element (or DestPath),
// archives (.tar, .tgz, .tar.gz, .tbz2, .tar.bz2, .zip) are extracted into
// the sandbox when Extract is set, Executable makes the file 0755. A nil
// client uses one with fetchTimeout.
func FetchAll(ctx context.Context, sandbox string, uris []wire.FetchURI, client *http.Client) error {
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	for _, f := range uris {
		if err := fetchOne(ctx, sandbox, f, client); err != nil {
			return fmt.Errorf("fetch %s: %w", f.URI, err)
		}
	}
	return nil
}

func fetchOne(ctx context.Context, sandbox string, f wire.FetchURI, client *http.Client) error {
	name, err := fetchName(f)
	if err != nil {
		return err
	}
	dst := filepath.Join(sandbox, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	src, err := openURI(ctx, f.URI, client)
	if err != nil {
		return err
	}
	defer src.Close()
	mode := os.FileMode(0o644)
	if f.Executable {
		mode = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if f.Executable {
		return os.Chmod(dst, 0o755)
	}
	if f.Extract && archiveKind(name) != "" {
		return extract(dst, sandbox, archiveKind(name))
	}
	return nil
}

// fetchName is the sandbox-relative file name: DestPath, else the last
// element of the URI's path. It may not leave the sandbox.
func fetchName(f wire.FetchURI) (string, error) {
	name := f.DestPath
	if name == "" {
		p := f.URI
		if u, err := url.Parse(f.URI); err == nil && u.Scheme != "" {
			p = u.Path
		}
		name = path.Base(p)
	}
	clean := filepath.Clean(name)
	if name == "" || clean == "." || clean == "/" || filepath.IsAbs(clean) || strings.HasPrefix(clean, "..") {
		return "", fmt.Errorf("no usable file name (%q) inside the sandbox", name)
	}
	return clean, nil
}

// openURI opens a local path, file://, http:// or https:// URI.
func openURI(ctx context.Context, raw string, client *http.Client) (io.ReadCloser, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "":
		return os.Open(raw)
	case "file":
		return os.Open(u.Path)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
		if err != nil {
			return nil, err
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			res.Body.Close()
			return nil, fmt.Errorf("GET answered %s", res.Status)
		}
		return res.Body, nil
	}
	return nil, fmt.Errorf("unsupported scheme %q (local paths, file://, http://, https://)", u.Scheme)
}

// archiveKind names how to extract a file by its extension ("" = not an archive).
func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tgz"
	case strings.HasSuffix(n, ".tar.bz2"), strings.HasSuffix(n, ".tbz2"):
		return "tbz2"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

func extract(archive, dir, kind string) error {
	if kind == "zip" {
		return extractZip(archive, dir)
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	switch kind {
	case "tgz":
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	case "tbz2":
		r = bzip2.NewReader(f)
	}
	return extractTar(tar.NewReader(r), dir)
}

// inside joins an archive entry name to dir, refusing names that leave it.
func inside(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if p != dir && !strings.HasPrefix(p, dir+string(filepath.Separator)) {
		return "", fmt.Errorf("archive entry %q leaves the sandbox", name)
	}
	return p, nil
}

func extractTar(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p, err := inside(dir, h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(p, tr, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		}
	}
}

func extractZip(archive, dir string) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		p, err := inside(dir, f.Name)
		if err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		err = writeEntry(p, rc, f.Mode().Perm())
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeEntry(p string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if mode == 0 {
		mode = 0o644
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
