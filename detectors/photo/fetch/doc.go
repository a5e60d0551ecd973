// Package fetch reads the documents an event names: file:// under one
// configured root, http(s):// with timeouts, a size cap and an optional host
// allow-list, and data: URIs. Failures are a *Error that says whether
// retrying can help (Transient: timeouts, connection errors, 5xx, 429) or
// not (Permanent: bad URI, not found, too large, outside the root, host not
// allowed). Transient failures are retried a configured number of times with
// jittered backoff before being returned.
//
// A Fetcher bounds how many fetches run at once across all its callers, is
// safe for concurrent use and holds no resources beyond its http.Client.
package fetch
