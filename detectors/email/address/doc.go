// Package address turns an email address as typed into the forms that
// detectors match on, while the raw address is kept for display.
//
//   - Canonical: lower case, IDNA (ASCII) domain, googlemail.com folded into
//     gmail.com, "+tag" removed, dots removed only for gmail.com (the one
//     large provider known to ignore them). Two registrations with the same
//     canonical address reach the same mailbox.
//   - Skeleton: the canonical form of the address after NFKC and after
//     mapping common Cyrillic/Greek look-alikes to Latin (data/confusables.txt,
//     a subset of Unicode's confusables.txt). A skeleton equal to another
//     registrant's canonical address, while the canonical forms differ, is a
//     look-alike: "nаnang@gmail.com" with a Cyrillic "а".
//   - MixedScript: letters of more than one script inside the local part or
//     inside one domain label.
//   - Registrable: the registrable domain (eTLD+1, golang.org/x/net/publicsuffix),
//     on which the disposable-domain list (data/disposable_domains.txt) is
//     matched, so every subdomain of a disposable service matches too.
//
// Everything here is pure: no DNS, no IO after the embedded data is parsed.
package address
