package objects

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/plinth-storage/plinth/pool"
)

// ListOptions select a listing's page.
type ListOptions struct {
	Prefix     string
	Delimiter  string // keys with it after the prefix roll up into CommonPrefixes
	StartAfter string // list keys after this one
	Token      string // a previous page's NextToken
	Limit      int    // keys and common prefixes per page (default and at most 1000)
}

// MaxListLimit bounds a page.
const MaxListLimit = 1000

// ListResult is one page of a listing, in key order.
type ListResult struct {
	Objects        []ObjectInfo `json:"objects"`
	CommonPrefixes []string     `json:"common_prefixes,omitempty"`
	Truncated      bool         `json:"truncated"`
	NextToken      string       `json:"next_token,omitempty"`
}

// List lists a bucket's objects.
func (s *Store) List(ctx context.Context, bucket string, o ListOptions) (ListResult, error) {
	p, err := s.lookup(bucket)
	if err != nil {
		return ListResult{}, err
	}
	if o.Limit <= 0 || o.Limit > MaxListLimit {
		o.Limit = MaxListLimit
	}
	bp := bucketPrefix(bucket)
	prefix := append(bytes.Clone(bp), o.Prefix...)
	from := prefix
	if o.StartAfter != "" {
		if f := append(ownerOf(bucket, o.StartAfter), 0); bytes.Compare(f, from) > 0 {
			from = f
		}
	}
	if o.Token != "" {
		f, err := decodeToken(bucket, o.Token)
		if err != nil {
			return ListResult{}, err
		}
		if bytes.Compare(f, from) > 0 {
			from = f
		}
	}
	var res ListResult
	var last []byte // the next page's start
	count := 0
	for from != nil {
		restart := []byte(nil)
		err := p.List(ctx, prefix, from, func(e pool.Entry) (bool, error) {
			key := string(e.Owner[len(bp):])
			if count == o.Limit {
				res.Truncated = true
				return false, nil
			}
			if o.Delimiter != "" {
				if i := strings.Index(key[len(o.Prefix):], o.Delimiter); i >= 0 {
					cp := key[:len(o.Prefix)+i+len(o.Delimiter)]
					res.CommonPrefixes = append(res.CommonPrefixes, cp)
					count++
					restart = successor(ownerOf(bucket, cp))
					last = restart
					return false, nil
				}
			}
			oi, err := info(bucket, key, e.Version, e.Size, e.Attrs)
			if err != nil {
				return false, err
			}
			res.Objects = append(res.Objects, oi)
			count++
			last = append(bytes.Clone(e.Owner), 0)
			return true, nil
		})
		if err != nil {
			return ListResult{}, fmt.Errorf("list %s: %w", bucket, err)
		}
		if res.Truncated {
			break
		}
		from = restart
	}
	if res.Truncated {
		res.NextToken = base64.RawURLEncoding.EncodeToString(last[len(bp):])
	}
	return res, nil
}

// successor is the smallest key after every key starting with prefix; nil
// when there is none.
func successor(prefix []byte) []byte {
	s := bytes.Clone(prefix)
	for len(s) > 0 {
		if s[len(s)-1] < 0xff {
			s[len(s)-1]++
			return s
		}
		s = s[:len(s)-1]
	}
	return nil
}

// decodeToken turns a continuation token back into the owner it starts at.
func decodeToken(bucket, token string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 || len(b) > MaxKey+1 {
		return nil, fmt.Errorf("%w: continuation token %q", ErrInvalid, token)
	}
	return append(bucketPrefix(bucket), b...), nil
}
