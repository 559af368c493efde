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
// must be exactly one CAR file. A path that is an http:// or https:// URL is fetched with a GET
// and streamed as a file (ipfs-cluster-ctl's add takes web URLs too); each entry is named as
// EntryName says.
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
	entries := make([]addEntry, len(paths))
	for i, p := range paths {
		name, err := EntryName(p)
		if err != nil {
			return err
		}
		entries[i] = addEntry{arg: p, name: name}
		if u := webURL(p); u != nil {
			entries[i].url = u
			continue
		}
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
		// Closing the body (the request ended, or failed before it was read) also stops a
		// GET of a URL entry that the writer may be waiting on.
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			defer cancel()
			err := writeMultipart(wctx, mw, entries, params.Hidden)
			if err == nil {
				err = mw.Close()
			}
			// Once the body is closed, the writer's failure is only its consequence.
			if err != nil && !errors.Is(err, io.ErrClosedPipe) && wctx.Err() == nil {
				mu.Lock()
				if writeErr == nil {
					writeErr = err
				}
				mu.Unlock()
			}
			pw.CloseWithError(err)
		}()
		return cancelOnClose{pr, cancel}, mw.FormDataContentType(), nil
	}
	err := stream(ctx, c, request{method: http.MethodPost, path: "/add", query: params.ToQuery(), body: body, expect100: true},
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

// cancelOnClose is a request body that cancels its writer's context when closed.
type cancelOnClose struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r cancelOnClose) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// addEntry is one argument of Add: a local path, or a web URL (url set).
type addEntry struct {
	arg  string
	name string
	url  *url.URL
}

// webURL is the URL arg names when it is an http:// or https:// one, else nil (a local path).
func webURL(arg string) *url.URL {
	u, err := url.Parse(arg)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	return u
}

// EntryName is the name Add gives the argument arg, the name of its entry in a wrapping
// directory and of its lines in the output. For a web URL it is the last element of the URL's
// path, as ipfs-cluster-ctl names it, or the host when the path has none. For a local path it
// is the last element, as Kubo names it, except that a path ending in . or .. (`add -r .`)
// names the directory it denotes, with symlinks resolved as Kubo does for ".".
func EntryName(arg string) (string, error) {
	if u := webURL(arg); u != nil {
		if name := path.Base(u.Path); name != "." && name != "/" {
			return name, nil
		}
		return u.Hostname(), nil
	}
	clean := filepath.Clean(arg)
	if base := filepath.Base(clean); base != "." && base != ".." {
		return base, nil
	}
	abs, err := filepath.Abs(clean)
	if err != nil {
		return "", fmt.Errorf("cannot add %s: %w", arg, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	return filepath.Base(abs), nil
}

// writeMultipart writes the entries Kubo-style: a directory is a part with Content-Type
// application/x-directory, a file (or a fetched URL) an application/octet-stream part, a
// symlink an application/symlink part holding its target; each named by its query-escaped path
// below the entry's name. Hidden entries (dot files) inside directories are skipped unless
// hidden.
func writeMultipart(ctx context.Context, mw *multipart.Writer, entries []addEntry, hidden bool) error {
	for _, e := range entries {
		if e.url != nil {
			if err := writeURLPart(ctx, mw, e); err != nil {
				return err
			}
			continue
		}
		root := filepath.Clean(e.arg)
		err := filepath.WalkDir(root, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, rerr := filepath.Rel(root, fp)
			if rerr != nil {
				return rerr
			}
			name := e.name
			if rel != "." {
				if !hidden && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				name = path.Join(e.name, filepath.ToSlash(rel))
			}
			return writePart(mw, fp, name, d)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// writeURLPart streams the body of a GET of e.url as a file part. The request goes through
// http.DefaultClient, not the cluster client, so no cluster credentials reach a third party.
func writeURLPart(ctx context.Context, mw *multipart.Writer, e addEntry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url.String(), nil)
	if err != nil {
		return fmt.Errorf("cannot add %s: %w", e.arg, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot add %s: %w", e.arg, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("cannot add %s: GET answered %s", e.arg, resp.Status)
	}
	w, err := mw.CreatePart(partHeader(e.name, "application/octet-stream"))
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("cannot add %s: %w", e.arg, err)
	}
	return nil
}

func partHeader(name, contentType string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, url.QueryEscape(name)))
	h.Set("Content-Type", contentType)
	return h
}

func writePart(mw *multipart.Writer, fp, name string, d fs.DirEntry) error {
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(fp)
		if err != nil {
			return err
		}
		w, err := mw.CreatePart(partHeader(name, "application/symlink"))
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, target)
		return err
	case d.IsDir():
		_, err := mw.CreatePart(partHeader(name, "application/x-directory"))
		return err
	case d.Type().IsRegular():
		w, err := mw.CreatePart(partHeader(name, "application/octet-stream"))
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
