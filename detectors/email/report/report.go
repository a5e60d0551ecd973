package report

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Channels a report arrives by.
const (
	ChannelEmail = "email" // DKIM-verified reply
	ChannelLink  = "link"  // POST of the not-me confirmation form
)

// Report is an accepted misuse report: the owner of Address says that
// registration RegistrationID was not made by them. It is what the intake
// hands to its sink and what detectors/email.ApplyReport consumes.
type Report struct {
	// ID is deterministic (channel + registration + message id or token),
	// so that a report received twice is one row downstream.
	ID             string    `json:"report_id"`
	Channel        string    `json:"channel"`
	RegistrationID string    `json:"registration_id"`
	Address        string    `json:"address"` // canonical address of the owner
	ReceivedAt     time.Time `json:"received_at"`
	MessageID      string    `json:"message_id,omitempty"` // email channel
	Signer         string    `json:"signer,omitempty"`     // DKIM d= (email channel)
	TokenID        string    `json:"token_id,omitempty"`
}

// FromVerdict builds the report of an accepted reply.
func FromVerdict(vd Verdict, receivedAt time.Time) Report {
	return Report{
		ID:             reportID(ChannelEmail, vd.RegistrationID, vd.MessageID),
		Channel:        ChannelEmail,
		RegistrationID: vd.RegistrationID,
		Address:        vd.From,
		ReceivedAt:     receivedAt.UTC(),
		MessageID:      vd.MessageID,
		Signer:         vd.Signer,
		TokenID:        vd.TokenID,
	}
}

// FromLink builds the report of a confirmed not-me link; canonical is the
// canonical form of the registered address the token verified against.
func FromLink(c Claims, canonical string, receivedAt time.Time) Report {
	return Report{
		ID:             reportID(ChannelLink, c.RegistrationID, c.ID),
		Channel:        ChannelLink,
		RegistrationID: c.RegistrationID,
		Address:        canonical,
		ReceivedAt:     receivedAt.UTC(),
		TokenID:        c.ID,
	}
}

// UsedKey is the single-use key (UsedStore) that accepting r took: the
// (registration, Message-ID) pair of a reply (Verifier.Commit) or the token
// of a not-me link (LinkKey). A restarted intake marks the keys of the
// reports already stored, so that a replay is still refused after a
// restart.
func (r Report) UsedKey() string {
	if r.Channel == ChannelLink {
		return LinkKey(r.TokenID)
	}
	return replyKey(r.RegistrationID, r.MessageID)
}

// LinkKey is the single-use key of a not-me link token (Claims.ID).
func LinkKey(tokenID string) string { return "link\x00" + tokenID }

func replyKey(registrationID, messageID string) string {
	return "reply\x00" + registrationID + "\x00" + messageID
}

func reportID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "MR" + hex.EncodeToString(h.Sum(nil)[:12])
}
