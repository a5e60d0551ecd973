package sim

// Reference data for realistic Indonesian registrations. The province codes
// are the Dukcapil (Kemendagri) codes that open every NIK; the population
// weights (millions, 2020 census, rounded) decide where simulated people
// live; kab/kota counts give each province plausible regency codes
// (kabupaten 01.., kota 71..).

type province struct {
	code       string
	population float64
	kab, kota  int
}

var provinces = []province{
	{"11", 5.3, 18, 5}, {"12", 14.8, 25, 8}, {"13", 5.5, 12, 7}, {"14", 6.4, 10, 2},
	{"15", 3.5, 9, 2}, {"16", 8.5, 13, 4}, {"17", 2.0, 9, 1}, {"18", 9.0, 13, 2},
	{"19", 1.5, 6, 1}, {"21", 2.1, 5, 2}, {"31", 10.6, 1, 5}, {"32", 48.3, 18, 9},
	{"33", 36.5, 29, 6}, {"34", 3.7, 4, 1}, {"35", 40.7, 29, 9}, {"36", 11.9, 4, 4},
	{"51", 4.3, 8, 1}, {"52", 5.3, 8, 2}, {"53", 5.3, 21, 1}, {"61", 5.4, 12, 2},
	{"62", 2.7, 13, 1}, {"63", 4.1, 11, 2}, {"64", 3.8, 7, 3}, {"65", 0.7, 4, 1},
	{"71", 2.6, 11, 4}, {"72", 3.0, 12, 1}, {"73", 9.1, 21, 3}, {"74", 2.6, 15, 2},
	{"75", 1.2, 5, 1}, {"76", 1.4, 6, 0}, {"81", 1.8, 9, 2}, {"82", 1.3, 8, 2},
	{"91", 4.3, 28, 1}, {"92", 1.1, 12, 1},
}

// ProvinceCodes lists the valid NIK province codes the simulator uses, so
// that tests of other packages can cross-check their own list.
func ProvinceCodes() []string {
	out := make([]string, len(provinces))
	for i, p := range provinces {
		out[i] = p.code
	}
	return out
}

// invalidProvinceCodes are two-digit prefixes no province has.
var invalidProvinceCodes = []string{"00", "10", "20", "22", "30", "37", "40", "50", "60", "70", "80", "90", "99"}

var maleGiven = []string{
	"AGUS", "BUDI", "SLAMET", "EKO", "HENDRA", "RUDI", "JOKO", "BAMBANG", "ANDI", "DEDI",
	"AHMAD", "MUHAMMAD", "RIZKY", "FAJAR", "ARIF", "IRFAN", "WAHYU", "YOGI", "HARI", "DIAN",
	"NANANG", "SUGENG", "SUPRIYADI", "HERU", "TEGUH", "IMAM", "SAIFUL", "ILHAM", "RAHMAT", "DODI",
	"ADITYA", "BAYU", "DIMAS", "GILANG", "KURNIAWAN", "PUTU", "MADE", "KETUT", "WAYAN", "YOHANES",
	"FERDINAND", "SAMUEL", "DANIEL", "ALFIAN", "ZULKIFLI", "HASAN", "SYAHRUL", "TAUFIK", "ARDI", "RIDWAN",
}

var femaleGiven = []string{
	"SITI", "SRI", "DEWI", "NUR", "RINA", "YULI", "ENDANG", "LESTARI", "WULAN", "RATNA",
	"FITRI", "INDAH", "AYU", "PUTRI", "NOVI", "DIAH", "RATIH", "EKA", "ANISA", "NURUL",
	"SUSANTI", "HANDAYANI", "KARTIKA", "MEGA", "LINDA", "MARIA", "YOHANA", "NI", "KADEK", "KOMANG",
	"RAHMAWATI", "NABILA", "AMELIA", "SALSABILA", "DINDA", "TIKA", "WIDYA", "YUNI", "ERNA", "HARTATI",
}

var familyNames = []string{
	"SARFINAL", "SANTOSO", "WIJAYA", "SAPUTRA", "SAPUTRI", "HIDAYAT", "PRATAMA", "KUSUMA", "NUGROHO", "SETIAWAN",
	"HARAHAP", "NASUTION", "SIREGAR", "LUBIS", "SIMANJUNTAK", "PANJAITAN", "TAMBUNAN", "SINAGA", "PURBA", "GINTING",
	"WIBOWO", "SUSILO", "HARTONO", "GUNAWAN", "SUHARTO", "SUPRAPTO", "RAHMAN", "HAKIM", "FIRMANSYAH", "RAMADHAN",
	"PANGESTU", "MAHARANI", "PERMATASARI", "WULANDARI", "ANGGRAINI", "SULISTYO", "PRASETYO", "HALIM", "TANJUNG", "DAULAY",
	"MANURUNG", "SITORUS", "PARDEDE", "LATUCONSINA", "RUMBIAK", "WONDA", "MANDAGI", "LUMBANTOBING", "SUDARSONO", "YULIANTO",
	"ASTUTI", "UTAMI", "KURNIASIH", "RAHAYU", "SUGIARTO", "SUBAGYO", "PURNOMO", "WAHYUDI", "SETIADI", "HERMAWAN",
}

// emailDomains with rough shares among Indonesian registrants.
var emailDomains = []weighted{
	{"gmail.com", 78}, {"yahoo.com", 7}, {"yahoo.co.id", 6}, {"ymail.com", 1.5},
	{"outlook.com", 2}, {"hotmail.com", 2}, {"icloud.com", 1}, {"rocketmail.com", 0.5},
	{"outlook.co.id", 0.5}, {"mail.com", 0.5}, {"yandex.com", 0.3}, {"proton.me", 0.2},
}

// mobilePrefixes are the operator prefixes after +62 (Telkomsel, Indosat,
// XL, Axis, Smartfren, Tri), weighted by subscriber share.
var mobilePrefixes = []weighted{
	{"811", 3}, {"812", 8}, {"813", 8}, {"821", 8}, {"822", 8}, {"823", 5}, {"852", 8}, {"853", 5}, {"851", 2},
	{"814", 1}, {"815", 2}, {"816", 2}, {"855", 2}, {"856", 5}, {"857", 5}, {"858", 3},
	{"817", 3}, {"818", 3}, {"819", 3}, {"859", 2}, {"877", 4}, {"878", 4},
	{"831", 1}, {"832", 1}, {"833", 1}, {"838", 2},
	{"881", 1}, {"882", 1}, {"888", 1}, {"889", 1},
	{"895", 2}, {"896", 2}, {"897", 2}, {"898", 2}, {"899", 1},
}

// carrierV4 are first octets of mobile CGNAT pools; homeV4 of fixed
// broadband; hostingV4 of hosting/VPS ranges used by bot farms.
var carrierV4 = []string{"114.122", "114.124", "114.125", "110.136", "110.137", "182.0", "182.1", "112.215", "114.4", "114.5", "180.214", "116.206", "36.71", "120.188"}
var homeV4 = []string{"36.68", "36.69", "36.72", "36.73", "36.74", "36.77", "36.80", "36.81", "36.85", "36.90", "180.244", "180.246", "180.248", "180.250", "180.252", "180.254", "125.160", "125.162", "125.164", "103.28", "202.80", "118.96", "118.99"}
var hostingV4 = []string{"103.41", "103.77", "103.152", "103.147", "45.64", "45.77", "139.59", "149.129", "43.218", "202.157"}

// carrierV6 are IPv6 /32s of mobile operators.
var carrierV6 = []string{"2001:448a", "2404:c0", "2001:4479", "2400:9800", "2404:8000"}

var userAgents = []weighted{
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 20},
	{"Mozilla/5.0 (Linux; Android 11; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 12},
	{"Mozilla/5.0 (Linux; Android 12; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 10},
	{"Mozilla/5.0 (Linux; Android 13; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", 9},
	{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36", 8},
	{"Mozilla/5.0 (Linux; Android 9; Redmi Note 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", 5},
	{"Mozilla/5.0 (Linux; Android 11; SM-A125F) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", 5},
	{"Mozilla/5.0 (Linux; U; Android 10; en-us; Redmi 9A Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile Safari/537.36 XiaoMi/MiuiBrowser/14.4.0-g", 4},
	{"Mozilla/5.0 (Linux; Android 12; CPH2269) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.119 Mobile Safari/537.36", 4},
	{"Mozilla/5.0 (Linux; Android 11; vivo 1906) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.178 Mobile Safari/537.36", 4},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", 4},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", 2},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 7},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", 1},
	{"Mozilla/5.0 (Linux; Android 8.1.0; vivo 1820) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.5414.117 Mobile Safari/537.36", 3},
	{"Mozilla/5.0 (Linux; Android 13; Infinix X6833B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.99 Mobile Safari/537.36", 2},
}

// botUserAgents are automation fingerprints bot farms leak.
var botUserAgents = []string{
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
	"okhttp/4.9.3",
	"Mozilla/5.0 (Linux; Android 7.0; SM-G930V Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.125 Mobile Safari/537.36",
	"python-requests/2.31.0",
	"Dalvik/2.1.0 (Linux; U; Android 9; SM-G960N Build/PQ3A.190705.003)",
}

var ewallets = []string{"DANA", "OVO", "GOPAY", "LINKAJA", "SHOPEEPAY"}

type weighted struct {
	v string
	w float64
}
