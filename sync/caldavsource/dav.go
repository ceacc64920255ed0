package caldavsource

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/touchbase/touchbase/config"
)

// XML namespaces of WebDAV (RFC 4918), CalDAV (RFC 4791) and the Apple
// CalendarServer extensions (getctag).
const (
	nsDAV = "DAV:"
	nsCal = "urn:ietf:params:xml:ns:caldav"
	nsCS  = "http://calendarserver.org/ns/"
)

// davClient sends WebDAV requests with basic auth over one http.Client,
// counting requests and response bytes. go-webdav's client uses it too
// (it implements webdav.HTTPClient), so discovery is counted alike.
type davClient struct {
	hc         *http.Client
	base       *url.URL
	user, pass string
	requests   int64
	bytes      int64
	lastStatus int // of the last response, 0 after a transport error
}

// newHTTPClient returns a plain net/http client with timeouts; retries and
// backoff belong to the scheduler. caFile adds a PEM bundle to the roots.
func newHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 15 * time.Second
	tr.ResponseHeaderTimeout = 2 * time.Minute // Radicale's first sync-collection on 5k items takes ~6 s
	tr.MaxIdleConnsPerHost = 4
	if caFile != "" {
		pool, err := config.RootCAs(caFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// Do implements webdav.HTTPClient.
func (c *davClient) Do(req *http.Request) (*http.Response, error) {
	if c.user != "" || c.pass != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	c.requests++
	c.lastStatus = 0
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	c.lastStatus = resp.StatusCode
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.bytes}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	*b.n += int64(n)
	return n, err
}

// statusError is a non-2xx answer to a WebDAV request.
type statusError struct {
	method, path string
	code         int
	detail       string // start of the body: a DAV:error precondition or server text
}

func (e *statusError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.code, http.StatusText(e.code))
	if e.detail != "" {
		msg += ": " + e.detail
	}
	return msg
}

func statusCode(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return 0
}

// resolve returns the absolute URL of a decoded path on the server.
func (c *davClient) resolve(p string) string {
	return c.base.ResolveReference(&url.URL{Path: p}).String()
}

// multistatus sends method (PROPFIND or REPORT) with an XML body to path and
// decodes the whole 207 Multi-Status answer (RFC 4918 13). Use stream for
// answers that may be large.
func (c *davClient) multistatus(ctx context.Context, method, path, depth string, body any) (*multistatus, error) {
	var ms multistatus
	token, err := c.stream(ctx, method, path, depth, body, func(r response) error {
		ms.Responses = append(ms.Responses, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	ms.SyncToken = token
	return &ms, nil
}

// stream sends method with an XML body to path and calls each for every
// DAV:response of the 207 answer as soon as it is decoded, so memory holds
// one response at a time however large the answer (a calendar-query with
// calendar-data over thousands of objects is megabytes). It returns the
// multistatus-level DAV:sync-token (RFC 6578), "" when absent. A non-207
// answer is a *statusError; an error from each stops the read and is
// returned as is.
func (c *davClient) stream(ctx context.Context, method, path, depth string, body any, each func(response) error) (string, error) {
	resp, err := c.send(ctx, method, path, depth, body)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(resp.Body, 64<<10))
	level, token, root := 0, "", false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if level != 0 || !root {
				return "", fmt.Errorf("%s %s: truncated multistatus", method, path)
			}
			return token, nil
		}
		if err != nil {
			return "", fmt.Errorf("%s %s: decode multistatus: %w", method, path, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if level == 0 && t.Name != (xml.Name{Space: nsDAV, Local: "multistatus"}) {
				return "", fmt.Errorf("%s %s: answer is %s, not a multistatus", method, path, t.Name.Local)
			}
			root = true
			if level == 1 && t.Name.Space == nsDAV && (t.Name.Local == "response" || t.Name.Local == "sync-token") {
				if t.Name.Local == "sync-token" {
					if err := dec.DecodeElement(&token, &t); err != nil {
						return "", fmt.Errorf("%s %s: decode sync-token: %w", method, path, err)
					}
					token = strings.TrimSpace(token)
					continue
				}
				var r response
				if err := dec.DecodeElement(&r, &t); err != nil {
					return "", fmt.Errorf("%s %s: decode response: %w", method, path, err)
				}
				if err := each(r); err != nil {
					return "", err
				}
				continue
			}
			level++
		case xml.EndElement:
			level--
		}
	}
}

// send sends method with an XML body and returns the 207 answer unread.
func (c *davClient) send(ctx context.Context, method, path, depth string, body any) (*http.Response, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	if err := xml.NewEncoder(&buf).Encode(body); err != nil {
		return nil, fmt.Errorf("encode %s body: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.resolve(path), &buf)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	// Xandikos answers 415 without a Content-Type on PROPFIND/REPORT.
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	req.Header.Set("Depth", depth)
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusMultiStatus {
		defer resp.Body.Close()
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, &statusError{method: method, path: path, code: resp.StatusCode, detail: oneLine(string(snippet))}
	}
	return resp, nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// multistatus is the subset of RFC 4918 / 4791 / 6578 answers we read.
type multistatus struct {
	Responses []response `xml:"DAV: response"`
	SyncToken string     `xml:"DAV: sync-token"`
}

type response struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	Propstats []propstat `xml:"DAV: propstat"`
}

type propstat struct {
	Status string `xml:"DAV: status"`
	Prop   prop   `xml:"DAV: prop"`
}

type prop struct {
	ResourceType *struct {
		Calendar *struct{} `xml:"urn:ietf:params:xml:ns:caldav calendar"`
	} `xml:"DAV: resourcetype"`
	DisplayName  string `xml:"DAV: displayname"`
	GetETag      string `xml:"DAV: getetag"`
	GetCTag      string `xml:"http://calendarserver.org/ns/ getctag"`
	SyncToken    string `xml:"DAV: sync-token"`
	CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
	CompSet      *struct {
		Comps []compName `xml:"urn:ietf:params:xml:ns:caldav comp"`
	} `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
}

type compName struct {
	Name string `xml:"name,attr"`
}

// href returns the response's decoded path.
func (r response) href() string {
	if len(r.Hrefs) == 0 {
		return ""
	}
	return canonicalPath(r.Hrefs[0])
}

// canonicalPath turns an href (absolute URL or path, percent-encoded as
// Radicale sends them) into the decoded path we key objects on.
func canonicalPath(href string) string {
	href = strings.TrimSpace(href)
	u, err := url.Parse(href)
	if err != nil {
		return href
	}
	return u.Path
}

// code parses "HTTP/1.1 404 Not Found"; an absent status counts as 200.
func code(status string) int {
	f := strings.Fields(status)
	if len(f) < 2 {
		return http.StatusOK
	}
	var n int
	fmt.Sscanf(f[1], "%d", &n)
	return n
}

// props merges the props of the 2xx propstats of r.
func (r response) props() (prop, bool) {
	var out prop
	found := false
	for _, ps := range r.Propstats {
		if code(ps.Status)/100 != 2 {
			continue
		}
		found = true
		p := ps.Prop
		if p.ResourceType != nil {
			out.ResourceType = p.ResourceType
		}
		if p.CompSet != nil {
			out.CompSet = p.CompSet
		}
		out.DisplayName = first(out.DisplayName, p.DisplayName)
		out.GetETag = first(out.GetETag, p.GetETag)
		out.GetCTag = first(out.GetCTag, p.GetCTag)
		out.SyncToken = first(out.SyncToken, p.SyncToken)
		out.CalendarData = first(out.CalendarData, p.CalendarData)
	}
	return out, found
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return strings.TrimSpace(b)
}

// Request bodies.

type propName struct{ XMLName xml.Name }

func names(ns string, local ...string) []propName {
	out := make([]propName, len(local))
	for i, l := range local {
		out[i] = propName{xml.Name{Space: ns, Local: l}}
	}
	return out
}

type propList struct {
	Names []propName
}

type propfindReq struct {
	XMLName xml.Name `xml:"DAV: propfind"`
	Prop    propList `xml:"DAV: prop"`
}

// syncCollectionReq is an RFC 6578 sync-collection REPORT body.
type syncCollectionReq struct {
	XMLName   xml.Name `xml:"DAV: sync-collection"`
	SyncToken string   `xml:"DAV: sync-token"`
	SyncLevel string   `xml:"DAV: sync-level"`
	Prop      propList `xml:"DAV: prop"`
}

// calendarQueryReq is an RFC 4791 7.8 calendar-query REPORT body.
type calendarQueryReq struct {
	XMLName xml.Name  `xml:"urn:ietf:params:xml:ns:caldav calendar-query"`
	Prop    propList  `xml:"DAV: prop"`
	Filter  calFilter `xml:"urn:ietf:params:xml:ns:caldav filter"`
}

type calFilter struct {
	Comp compFilter `xml:"urn:ietf:params:xml:ns:caldav comp-filter"`
}

// compFilter keeps RFC 4791 9.7.1's child order: time-range, then
// comp-filter (no prop-filter is sent).
type compFilter struct {
	Name      string       `xml:"name,attr"`
	TimeRange *timeRange   `xml:"urn:ietf:params:xml:ns:caldav time-range,omitempty"`
	Comps     []compFilter `xml:"urn:ietf:params:xml:ns:caldav comp-filter,omitempty"`
}

// timeRange is open at the start (RFC 4791 9.9): only the first sync's
// query sends one.
type timeRange struct {
	End string `xml:"end,attr,omitempty"`
}

// multigetReq is an RFC 4791 7.9 calendar-multiget REPORT body.
type multigetReq struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:caldav calendar-multiget"`
	Prop    propList `xml:"DAV: prop"`
	Hrefs   []string `xml:"DAV: href"`
}

// escapedPath encodes a decoded path for an href element.
func escapedPath(p string) string { return (&url.URL{Path: p}).EscapedPath() }
