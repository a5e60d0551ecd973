// Package report verifies "not me" misuse reports: the person who received
// a verification email for a registration they never made says so, in a way
// the fraudster who registered cannot forge.
//
// Two channels, one proof each:
//
//   - The link in the verification email carries an HMAC token (token.go)
//     bound to the purpose, the canonical address, the registration id and
//     an expiry, with a key id for rotation. Only the mailbox owner received
//     it. Single use is enforced with a UsedStore.
//   - A reply to report+<token>@<report domain> (verify.go) is accepted only
//     when a DKIM signature (github.com/emersion/go-msgauth/dkim) of the
//     From domain proves the mailbox provider sent it for the registered
//     address, and the signed To carries a valid token for that address.
//     Every other message is rejected with reason classes (Class).
//
// DNS is injected (TXTResolver): NetResolver for production, a zone file
// (package dnszone) offline and in tests. A temporary DNS failure is a
// *TemporaryError, never a reject: the sender should retry later.
package report
