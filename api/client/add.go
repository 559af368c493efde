package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pincluster/pincluster/api"
)

// Add uploads the files and directories at paths (POST /add) and calls out for each line of the
// streamed answer: added entries (Cid set) and, with params.Progress, progress updates (Bytes
// set, Cid undefined). The multipart body is written while the files are read, so memory does
// not grow with their size. Directories need params.Recursive. With params.Format "car", paths
// must be exactly one CAR file.
func (c *Client) Add(ctx context.Context, paths []string, params api.AddParams, out func(api.AddedOutput)) error {
	if err := params.Validate(); err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("%w: nothing to add: give at least one path", api.ErrInvalid)
	}
	isCar := params.Format == "car"
	if isCar && len(paths) != 1 {
		return fmt.Errorf("%w: --format car takes exactly one CAR file, got %d paths", api.ErrInvalid, len(paths))
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("cannot add %s: %w", p, err)
		}
		if st.IsDir() && (isCar || !params.Recursive) {
			if isCar {
				return fmt.Errorf("%w: %s is a directory: --format car takes a CAR file", api.ErrInvalid, p)
			}
			return fmt.Errorf("%w: %s is a directory: use -r", api.ErrInvalid, p)
		}
	}

	var mu sync.Mutex
	var writeErr error // first error of the body writer (a file that cannot be read)
	body := func() (io.ReadCloser, string, error) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			err := writeMultipart(mw, paths, params.Hidden)
			if err == nil {
				err = mw.Close()
			}
			if err != nil && !errors.Is(err, io.ErrClosedPipe) {
				mu.Lock()
				if writeErr == nil {
					writeErr = err
				}
				mu.Unlock()
			}
			pw.CloseWithError(err)
		}()
		return pr, mw.FormDataContentType(), nil
	}
	err := stream(ctx, c, request{method: http.MethodPost, path: "/add", query: params.ToQuery(), body: body},
		func(o api.AddedOutput) error {
			if out != nil {
				out(o)
			}
			return nil
		})
	mu.Lock()
	defer mu.Unlock()
	if writeErr != nil {
		return fmt.Errorf("add stopped: %w", writeErr)
	}
	return err
}

// writeMultipart writes paths Kubo-style: a directory is a part with Content-Type
// application/x-directory, a file an application/octet-stream part, a symlink an
// application/symlink part holding its target; each named by its query-escaped path relative
// to the argument's parent. Hidden entries (dot files) inside directories are skipped unless
// hidden.
func writeMultipart(mw *multipart.Writer, paths []string, hidden bool) error {
	for _, p := range paths {
		root := filepath.Clean(p)
		base := filepath.Base(root)
		err := filepath.WalkDir(root, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, rerr := filepath.Rel(root, fp)
			if rerr != nil {
				return rerr
			}
			name := base
			if rel != "." {
				if !hidden && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				name = path.Join(base, filepath.ToSlash(rel))
			}
			return writePart(mw, fp, name, d)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func writePart(mw *multipart.Writer, fp, name string, d fs.DirEntry) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, url.QueryEscape(name)))
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(fp)
		if err != nil {
			return err
		}
		h.Set("Content-Type", "application/symlink")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, target)
		return err
	case d.IsDir():
		h.Set("Content-Type", "application/x-directory")
		_, err := mw.CreatePart(h)
		return err
	case d.Type().IsRegular():
		h.Set("Content-Type", "application/octet-stream")
		w, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		f, err := os.Open(fp)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	default:
		return fmt.Errorf("cannot add %s: not a regular file, directory or symlink", fp)
	}
}
