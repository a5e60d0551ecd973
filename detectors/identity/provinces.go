package identity

// provinces maps the two-digit province code (the first two digits of a NIK)
// to the province name.
//
// Source: Keputusan Menteri Dalam Negeri Nomor 100.1.1-6117 Tahun 2022
// "Pemberian dan Pemutakhiran Kode, Data Wilayah Administrasi Pemerintahan,
// dan Pulau" (Kemendagri), which adds the Papua provinces created in 2022
// (UU 14, 15, 16/2022: Papua Selatan 93, Papua Tengah 94, Papua Pegunungan
// 95; UU 29/2022: Papua Barat Daya 96) to the codes of Permendagri 72/2019.
// Cross-checked against the province table of github.com/cahyadsn/wilayah
// (db/wilayah.sql, which tracks the Kepmendagri lists, including
// 300.2.2-2138/2025 which kept these 38 codes).
//
// Kemendagri codes, not BPS codes: Dukcapil writes Kemendagri codes into the
// NIK (Papua is 91 and Papua Barat 92 there; BPS swaps them to 94/91).
// NIKs issued before 2022 in the new Papua provinces still carry 91 or 92,
// which are in the list, so the split creates no false positives.
//
// Kept as data so that a new province is a one-line change with its source.
var provinces = map[int]string{
	11: "Aceh",
	12: "Sumatera Utara",
	13: "Sumatera Barat",
	14: "Riau",
	15: "Jambi",
	16: "Sumatera Selatan",
	17: "Bengkulu",
	18: "Lampung",
	19: "Kepulauan Bangka Belitung",
	21: "Kepulauan Riau",
	31: "DKI Jakarta",
	32: "Jawa Barat",
	33: "Jawa Tengah",
	34: "DI Yogyakarta",
	35: "Jawa Timur",
	36: "Banten",
	51: "Bali",
	52: "Nusa Tenggara Barat",
	53: "Nusa Tenggara Timur",
	61: "Kalimantan Barat",
	62: "Kalimantan Tengah",
	63: "Kalimantan Selatan",
	64: "Kalimantan Timur",
	65: "Kalimantan Utara",
	71: "Sulawesi Utara",
	72: "Sulawesi Tengah",
	73: "Sulawesi Selatan",
	74: "Sulawesi Tenggara",
	75: "Gorontalo",
	76: "Sulawesi Barat",
	81: "Maluku",
	82: "Maluku Utara",
	91: "Papua",
	92: "Papua Barat",
	93: "Papua Selatan",
	94: "Papua Tengah",
	95: "Papua Pegunungan",
	96: "Papua Barat Daya",
}

// ProvinceName returns the province of a two-digit code and whether the
// code is in the Kemendagri list.
func ProvinceName(code int) (string, bool) {
	n, ok := provinces[code]
	return n, ok
}
