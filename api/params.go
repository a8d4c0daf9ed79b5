package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-import/ferry"
)

// params holds a request's parameters the way Grape sees them: the query
// string merged with a JSON or form body (the body wins), with Rack-style
// nesting for form keys ("a[b]", "a[]"). Accessors record Grape's messages
// ("name is missing") in declaration order; err() joins them.
type params struct {
	values map[string]any
	errs   []string
	read   map[string]bool // names the endpoint asked for (see get)
}

var (
	errBodyFormat = ferry.Errorf(ferry.EINVALID, "message body does not match declared format")
	errTooLarge   = ferry.Errorf(ferry.ETOOLARGE, "413 Request Entity Too Large")
)

// readParams parses query and body. Bodies over limit are ETOOLARGE; a body
// in an unsupported content type is 415 in Grape, reported as EINVALID with
// Grape's text by the caller's status mapping (see unsupportedType).
func readParams(r *http.Request, limit int64) (*params, error) {
	p := &params{values: map[string]any{}, read: map[string]bool{}}
	if q := queryOf(r.Context()); q != nil {
		// checkQuery parsed it; reads are recorded for the Link header.
		p.read = q.read
	} else if _, err := parseForm(r.URL.RawQuery, "query string"); err != nil {
		return nil, err
	}
	if err := mergeForm(p.values, r.URL.RawQuery); err != nil {
		return nil, err
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, errTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, mparams, _ := mime.ParseMediaType(ct)
	if mt == "application/x-www-form-urlencoded" && jsonObject(body) {
		// curl --data '{…}' labels a JSON body as a form, and GitLab's own
		// documentation sends it so (the bulk import examples): a body that
		// is one whole JSON object is read as JSON, as its author meant; no
		// form body starts with "{" and is valid JSON by accident.
		mt = "application/json"
	}
	switch mt {
	case "application/json", "":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, errBodyFormat
		}
		for k, v := range obj {
			p.values[k] = v
		}
	case "application/x-www-form-urlencoded":
		if _, err := parseForm(string(body), "request body"); err != nil {
			return nil, err
		}
		if err := mergeForm(p.values, string(body)); err != nil {
			return nil, err
		}
	case "multipart/form-data":
		r2 := *r
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.Header = r.Header.Clone()
		r2.Header.Set("Content-Type", mime.FormatMediaType(mt, mparams))
		if err := r2.ParseMultipartForm(limit); err != nil {
			return nil, errBodyFormat
		}
		if err := mergeValues(p.values, r2.MultipartForm.Value); err != nil {
			return nil, err
		}
	default:
		return nil, &unsupportedType{ct: ct}
	}
	return p, nil
}

// jsonObject reports whether body is exactly one JSON object.
func jsonObject(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var obj map[string]any
	if dec.Decode(&obj) != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// unsupportedType is Grape's 415 for a body it cannot parse.
type unsupportedType struct{ ct string }

func (e *unsupportedType) Error() string {
	return fmt.Sprintf("The provided content-type '%s' is not supported.", e.ct)
}

// maxParamDepth bounds the nesting of a form key, as Rack's
// param_depth_limit does.
const maxParamDepth = 32

// mergeForm folds an urlencoded string (already checked by parseForm)
// into m, pair by pair in order, with Rack's nesting (see normalizeParam).
func mergeForm(m map[string]any, raw string) error {
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return ferry.Errorf(ferry.EINVALID, "invalid %%-encoding in parameter name")
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return ferry.Errorf(ferry.EINVALID, "invalid %%-encoding in parameter %s", strings.ToValidUTF8(key, "?"))
		}
		if err := normalizeParam(m, key, val, maxParamDepth); err != nil {
			return err
		}
	}
	return nil
}

// mergeValues folds url.Values (a multipart form: its order across names
// is lost, so names are taken sorted) into m with Rack's nesting.
func mergeValues(m map[string]any, vals url.Values) error {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range vals[k] {
			if err := normalizeParam(m, k, v, maxParamDepth); err != nil {
				return err
			}
		}
	}
	return nil
}

// normalizeParam is Rack's QueryParser#normalize_params: "a" is the last
// value given, "a[]" a list, "a[b]" (to any depth) a hash entry, and
// "a[][b]" a list of hashes, a new hash starting whenever the last one
// already has b (so entities[][x]=1&entities[][y]=2&entities[][x]=3 is two
// entities). A name whose nesting contradicts an earlier one replaces it.
func normalizeParam(m map[string]any, name string, v any, depth int) error {
	if depth <= 0 {
		return ferry.Errorf(ferry.EINVALID, "parameter %s is nested too deeply", strings.ToValidUTF8(name, "?"))
	}
	// Rack's \A[\[\]]*([^\[\]]+)\]* : k is the first name, after is
	// what follows it and the closing brackets right after it.
	rest := strings.TrimLeft(name, "[]")
	i := strings.IndexAny(rest, "[]")
	if i < 0 {
		i = len(rest)
	}
	k, after := rest[:i], strings.TrimLeft(rest[i:], "]")
	if k == "" {
		return nil
	}
	switch {
	case after == "":
		m[k] = v
	case after == "[":
		m[name] = v
	case after == "[]":
		list, _ := m[k].([]any)
		m[k] = append(list, v)
	case strings.HasPrefix(after, "[]"):
		child := after[2:]
		if strings.HasPrefix(child, "[") && strings.HasSuffix(child, "]") && !strings.ContainsAny(child[1:len(child)-1], "[]") {
			child = child[1 : len(child)-1]
		}
		list, _ := m[k].([]any)
		if len(list) > 0 {
			if last, ok := list[len(list)-1].(map[string]any); ok && !hasRackKey(last, child) {
				if err := normalizeParam(last, child, v, depth-1); err != nil {
					return err
				}
				m[k] = list
				return nil
			}
		}
		h := map[string]any{}
		if err := normalizeParam(h, child, v, depth-1); err != nil {
			return err
		}
		m[k] = append(list, any(h))
	default:
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
		}
		if err := normalizeParam(sub, after, v, depth-1); err != nil {
			return err
		}
		m[k] = sub
	}
	return nil
}

// hasRackKey is Rack's params_hash_has_key?: whether the nested key (as
// "a" or "a[b][c]") is already set in h.
func hasRackKey(h map[string]any, key string) bool {
	if strings.Contains(key, "[]") {
		return false
	}
	parts := strings.FieldsFunc(key, func(r rune) bool { return r == '[' || r == ']' })
	var cur any = h
	for _, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return len(parts) > 0
}

func (p *params) fail(name, msg string) { p.errs = append(p.errs, name+" "+msg) }

// err returns the collected parameter errors as one Grape message.
func (p *params) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return ferry.Errorf(ferry.EINVALID, "%s", strings.Join(p.errs, ", "))
}

// has reports whether a parameter was given at all (even null or blank).
func (p *params) has(name string) bool { _, ok := p.get(name); return ok }

// scalar renders a scalar parameter as a string.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "", true
	}
	return "", false
}

// str returns an optional string; a non-scalar value is invalid.
func (p *params) str(name string) (string, bool) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return "", false
	}
	s, ok := scalar(v)
	if !ok {
		p.fail(name, "is invalid")
		return "", false
	}
	return s, true
}

// require returns a required string that may be blank (Grape's requires
// without allow_blank: false); ok is false when it is missing or invalid.
func (p *params) require(name string) (string, bool) {
	if !p.has(name) || p.values[name] == nil {
		p.fail(name, "is missing")
		return "", false
	}
	return p.str(name)
}

// requireStr returns a required, non-blank string.
func (p *params) requireStr(name string) string {
	s, ok := p.require(name)
	if ok && strings.TrimSpace(s) == "" {
		p.fail(name, "is empty")
	}
	return s
}

// optInt returns an optional integer; a non-integer is invalid.
func (p *params) optInt(name string) (int64, bool) {
	s, ok := p.str(name)
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		p.fail(name, "is invalid")
		return 0, false
	}
	return n, true
}

// requireInt returns a required integer.
func (p *params) requireInt(name string) int64 {
	if !p.has(name) || p.values[name] == nil {
		p.fail(name, "is missing")
		return 0
	}
	n, ok := p.optInt(name)
	if !ok && len(p.errs) == 0 {
		p.fail(name, "is invalid")
	}
	return n
}

// optBool returns an optional boolean (true/false/1/0/yes/no, as Grape).
func (p *params) optBool(name string) (bool, bool) {
	s, ok := p.str(name)
	if !ok || s == "" {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true", "1", "yes", "t", "y", "on":
		return true, true
	case "false", "0", "no", "f", "n", "off":
		return false, true
	}
	p.fail(name, "is invalid")
	return false, false
}

// list returns an array parameter: a JSON array, repeated "a[]" keys or a
// comma-separated string.
func (p *params) list(name string) ([]string, bool) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return nil, false
	}
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			s, ok := scalar(e)
			if !ok {
				p.fail(name, "is invalid")
				return nil, false
			}
			out = append(out, s)
		}
	default:
		s, ok := scalar(x)
		if !ok {
			p.fail(name, "is invalid")
			return nil, false
		}
		for _, e := range strings.Split(s, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out, true
}

// object returns a hash parameter (JSON object or Rack "a[b]" keys).
func (p *params) object(name string) (map[string]any, bool) {
	v, ok := p.get(name)
	if !ok || v == nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		p.fail(name, "is invalid")
		return nil, false
	}
	return m, true
}

// visibility returns an optional visibility level.
func (p *params) visibility(name string) (ferry.Visibility, bool) {
	s, ok := p.str(name)
	if !ok {
		return "", false
	}
	v, ok := ferry.ParseVisibility(s)
	if !ok {
		p.fail(name, "does not have a valid value")
		return "", false
	}
	return v, true
}

// date returns an optional date (Grape's Date): YYYY-MM-DD, or a full
// timestamp whose date part is taken, at UTC midnight. Anything else, such
// as 2024-13-45, is "is invalid".
func (p *params) date(name string) (*time.Time, bool) {
	s, ok := p.str(name)
	if !ok || strings.TrimSpace(s) == "" {
		return nil, false
	}
	t, ok := parseTimestamp(s)
	if !ok {
		p.fail(name, "is invalid")
		return nil, false
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &d, true
}

// dateTime returns an optional timestamp (Grape's DateTime): ISO 8601 with
// or without a zone (UTC when none), or a bare date at UTC midnight.
func (p *params) dateTime(name string) (*time.Time, bool) {
	s, ok := p.str(name)
	if !ok || strings.TrimSpace(s) == "" {
		return nil, false
	}
	t, ok := parseTimestamp(s)
	if !ok {
		p.fail(name, "is invalid")
		return nil, false
	}
	t = t.UTC()
	return &t, true
}

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05", "2006-01-02"}

func parseTimestamp(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// enum returns an optional parameter that must be one of values (Grape's
// values: validator, case-sensitive); anything else is "does not have a
// valid value". A blank value counts as not given.
func (p *params) enum(name string, values ...string) (string, bool) {
	s, ok := p.str(name)
	if !ok || s == "" {
		return "", false
	}
	for _, v := range values {
		if s == v {
			return s, true
		}
	}
	p.fail(name, "does not have a valid value")
	return "", false
}

// orderBy reads order_by from the values a list accepts.
func (p *params) orderBy(values ...string) string {
	v, _ := p.enum("order_by", values...)
	return v
}

// sortDir reads sort: asc or desc.
func (p *params) sortDir() string {
	v, _ := p.enum("sort", "asc", "desc")
	return v
}

// renameFields reads the name, path and description a group or project
// update may change; the caller validates the result as creation does
// (ferry.ValidateProject, ferry.ValidateGroup).
func (p *params) renameFields(name, path, description *string) {
	if v, ok := p.str("name"); ok {
		if strings.TrimSpace(v) == "" {
			p.fail("name", "is empty")
		}
		*name = v
	}
	if v, ok := p.str("path"); ok {
		if strings.TrimSpace(v) == "" {
			p.fail("path", "is empty")
		}
		*path = v
	}
	if v, ok := p.str("description"); ok {
		*description = v
	}
}
