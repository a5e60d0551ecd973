package burst

import (
	"net/netip"
	"strings"

	"github.com/waspada/waspada/pipeline/event"
)

// Class is a kind of key that registrations are grouped by.
type Class uint8

const (
	ClassIP Class = iota
	ClassIP24
	ClassIP64
	ClassDevice
	ClassUA
	ClassEmailDomain
	ClassPhonePrefix
	ClassRegion
	ClassStream
	ClassPhone // ring only: the exact phone number
	nClass
)

var classNames = [nClass]string{"ip", "ip24", "ip64", "device", "user_agent", "email_domain",
	"phone_prefix", "region", "stream", "phone"}

func (c Class) String() string { return classNames[c] }

// Every class but ClassPhone is counted in windows and judged; ClassDevice
// and ClassPhone feed proxy rings.

const maxKeyLen = 256

// phoneBlockDigits is how many trailing digits a phone prefix drops: SIM
// cards bought in a batch are consecutive within a block of 1000.
const phoneBlockDigits = 3

// keyBuf collects the keys of one event without allocating: values are
// substrings of the event or bytes in buf.
type keyBuf struct {
	keys  [nClass]string
	has   [nClass]bool
	buf   [64]byte
	phone [24]byte
}

func (kb *keyBuf) fill(ev *event.Event) {
	*kb = keyBuf{}
	set := func(c Class, v string) {
		if v == "" {
			return
		}
		if len(v) > maxKeyLen {
			v = v[:maxKeyLen]
		}
		kb.keys[c], kb.has[c] = v, true
	}
	if ip := ev.IP; ip != "" {
		if strings.IndexByte(ip, ':') >= 0 {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
				set(ClassIP, ip)
				b := a.As16()
				n := 0
				const hx = "0123456789abcdef"
				for i := 0; i < 8; i++ {
					kb.buf[n], kb.buf[n+1] = hx[b[i]>>4], hx[b[i]&15]
					n += 2
					if i%2 == 1 && i < 7 {
						kb.buf[n] = ':'
						n++
					}
				}
				kb.keys[ClassIP64], kb.has[ClassIP64] = string(kb.buf[:n])+"::/64", true
			}
		} else if i := strings.LastIndexByte(ip, '.'); i > 0 && strings.Count(ip, ".") == 3 {
			set(ClassIP, ip)
			set(ClassIP24, ip[:i])
		}
	}
	set(ClassDevice, ev.DeviceID)
	set(ClassUA, ev.UserAgent)
	if at := strings.LastIndexByte(ev.Email, '@'); at >= 0 && at < len(ev.Email)-1 {
		set(ClassEmailDomain, strings.ToLower(ev.Email[at+1:]))
	}
	if n := normPhone(ev.Phone, kb.phone[:0]); len(n) >= 8 {
		kb.keys[ClassPhone], kb.has[ClassPhone] = string(n), true
		kb.keys[ClassPhonePrefix], kb.has[ClassPhonePrefix] = string(n[:len(n)-phoneBlockDigits]), true
	}
	set(ClassRegion, ev.RegionCode)
	kb.keys[ClassStream], kb.has[ClassStream] = "", true
}

// normPhone keeps digits and writes Indonesian numbers as 62...: "+62 812",
// "0812" and "62812" are one number.
func normPhone(p string, out []byte) []byte {
	for i := 0; i < len(p) && len(out) < cap(out); i++ {
		if c := p[i]; c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	if len(out) > 1 && out[0] == '0' && len(out) < cap(out) {
		out = append(out[:1], out...)
		out[0], out[1] = '6', '2'
	}
	return out
}

// canonicalEmail folds the variants one mailbox has: case, and for Gmail
// dots and +tags.
func canonicalEmail(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	at := strings.LastIndexByte(e, '@')
	if at < 0 {
		return e
	}
	local, domain := e[:at], e[at+1:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	if domain == "gmail.com" || domain == "googlemail.com" {
		local = strings.ReplaceAll(local, ".", "")
		domain = "gmail.com"
	}
	return local + "@" + domain
}

func normName(n string) string {
	return strings.Join(strings.Fields(strings.ToUpper(n)), " ")
}
