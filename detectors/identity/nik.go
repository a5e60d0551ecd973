package identity

import (
	"fmt"
	"strconv"
)

// NIK is a structurally valid Nomor Induk Kependudukan: 16 digits
// PP KK CC DDMMYY NNNN (province, regency/city, district, birth date with
// 40 added to the day for women, serial). A parsed NIK may still carry an
// unknown province or a birth date that is not a real date: those are
// separate findings (KnownProvince, BirthDate), because they say different
// things to an analyst than a wrong length.
type NIK struct {
	Digits   string // the 16 digits as written
	Province int    // PP
	Regency  int    // KK
	District int    // CC
	Day      int    // DD as written: 1-31 for men, 41-71 for women
	Month    int    // MM
	Year     int    // YY, two digits: the century is not in the NIK
	Serial   int    // NNNN, 0001-9999
}

// NIKError says why a string is not a NIK. Reason is a short class
// (length, non_digit, zero_regency, zero_district, zero_serial).
type NIKError struct {
	Reason string
	Detail string
}

func (e *NIKError) Error() string { return "nik " + e.Reason + ": " + e.Detail }

// ParseNIK checks the structure of s: exactly 16 ASCII digits, non-zero
// regency, district and serial. It does not trim or drop separators: a
// NIK written with spaces is reported as malformed (CanonicalNIK is the
// lenient form the detector uses for duplicate matching).
func ParseNIK(s string) (NIK, error) {
	if len(s) != 16 {
		return NIK{}, &NIKError{"length", fmt.Sprintf("%d bytes, want 16 digits", len(s))}
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return NIK{}, &NIKError{"non_digit", fmt.Sprintf("byte %q at position %d", s[i], i+1)}
		}
	}
	two := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	n := NIK{Digits: s, Province: two(0), Regency: two(2), District: two(4),
		Day: two(6), Month: two(8), Year: two(10), Serial: two(12)*100 + two(14)}
	switch {
	case n.Regency == 0:
		return NIK{}, &NIKError{"zero_regency", "regency/city code 00 (digits 3-4)"}
	case n.District == 0:
		return NIK{}, &NIKError{"zero_district", "district code 00 (digits 5-6)"}
	case n.Serial == 0:
		return NIK{}, &NIKError{"zero_serial", "serial 0000 (digits 13-16)"}
	}
	return n, nil
}

// CanonicalNIK drops ASCII spaces, dots and dashes, the separators people
// type when copying a KTP, so that "3201 0101 9000 0001" and
// "3201010190000001" count as the same NIK for duplicate matching.
func CanonicalNIK(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if isNIKSeparator(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, 16)
	for i := 0; i < len(s); i++ {
		if !isNIKSeparator(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func isNIKSeparator(c byte) bool {
	return c == ' ' || c == '\t' || c == '.' || c == '-'
}

// KnownProvince reports whether the province code is in the Kemendagri list.
func (n NIK) KnownProvince() bool { _, ok := provinces[n.Province]; return ok }

// Female reports whether the NIK encodes a woman (day written as day+40).
func (n NIK) Female() bool { return n.Day > 40 }

// Gender is "F" or "M", as in the event's gender field.
func (n NIK) Gender() string {
	if n.Female() {
		return "F"
	}
	return "M"
}

// BirthDay is the day of month with the +40 for women removed.
func (n NIK) BirthDay() int {
	if n.Day > 40 {
		return n.Day - 40
	}
	return n.Day
}

// DateDigits is the DDMMYY part as written.
func (n NIK) DateDigits() string { return n.Digits[6:12] }

// RegionCode is the PPKK part, the form of the event's region_code.
func (n NIK) RegionCode() string { return n.Digits[:4] }

// CheckBirthDate reports why the DDMMYY digits are not a real date, or ""
// when they are. The century is unknown, so 29 February is accepted when
// either 19YY or 20YY is a leap year (YY divisible by 4: 2000 was leap).
func (n NIK) CheckBirthDate() string {
	switch {
	case n.Day == 0 || (n.Day > 31 && n.Day <= 40) || n.Day > 71:
		return fmt.Sprintf("day %02d is neither 01-31 (male) nor 41-71 (female)", n.Day)
	case n.Month < 1 || n.Month > 12:
		return fmt.Sprintf("month %02d", n.Month)
	}
	max := daysIn[n.Month]
	if n.Month == 2 && n.Year%4 == 0 {
		max = 29
	}
	if d := n.BirthDay(); d > max {
		return fmt.Sprintf("day %02d does not exist in month %02d of year %02d", d, n.Month, n.Year)
	}
	return ""
}

var daysIn = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// ExpectedDateDigits is the DDMMYY a NIK of the given sex would carry for a
// birth date written as YYYY-MM-DD; ok is false when the date does not
// parse. Only the last two year digits are in a NIK, so 1985 and 2085 are
// the same here.
func ExpectedDateDigits(birthDate string, female bool) (digits string, ok bool) {
	y, m, d, ok := splitDate(birthDate)
	if !ok {
		return "", false
	}
	if female {
		d += 40
	}
	b := []byte{byte('0' + d/10), byte('0' + d%10), byte('0' + m/10), byte('0' + m%10),
		byte('0' + (y%100)/10), byte('0' + y%10)}
	return string(b), true
}

// splitDate reads YYYY-MM-DD without allocating; it checks the shape and
// ranges only (the decoder already rejected impossible dates).
func splitDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(t string) (int, bool) {
		v, err := strconv.Atoi(t)
		return v, err == nil && t[0] != '+' && t[0] != '-'
	}
	var ok1, ok2, ok3 bool
	y, ok1 = num(s[:4])
	m, ok2 = num(s[5:7])
	d, ok3 = num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// nikValue packs 16 ASCII digits into their numeric value (< 10^16 < 2^63),
// an exact, collision-free map key for well-formed NIKs.
func nikValue(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v
}

// formatNIK is the inverse of nikValue.
func formatNIK(v uint64) string {
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}
