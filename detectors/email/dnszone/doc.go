// Package dnszone is an offline TXT resolver read from zone-file lines, for
// verifying misuse reports without network access and in tests.
//
// It reads the TXT lines dig prints and the zone files people keep:
//
//	brisbane._domainkey.football.example.com. 3600 IN TXT "v=DKIM1; k=ed25519; p=11qY..."
//	test._domainkey.football.example.com. IN TXT ( "v=DKIM1; k=rsa; p=MIGf..."
//	    "iGs5V6NpP3..." )
//
// Several quoted strings of one record are joined without separator (RFC
// 7208 section 3.3, RFC 6376 section 3.6.2.2), as net.Resolver does. Names
// without a trailing dot are relative to $ORIGIN. Other record types, $TTL
// and comments (";") are skipped. Lookups follow the report package's
// resolver contract: a name without TXT records is a *net.DNSError with
// IsNotFound set, never a temporary error.
package dnszone
