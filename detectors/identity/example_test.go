package identity_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/waspada/waspada/detectors/identity"
	"github.com/waspada/waspada/pipeline/event"
)

func Example() {
	d := identity.New(identity.DefaultConfig())
	at := time.Date(2026, 4, 11, 8, 0, 0, 0, time.UTC)
	reg := func(evID, regID string, sec int, nik, email string) *event.Event {
		return &event.Event{EventID: evID, Type: event.Submitted, OccurredAt: at.Add(time.Duration(sec) * time.Second),
			RegistrationID: regID, NIK: nik, FullName: "Nanang Sarfinal", BirthDate: "1985-07-01", Gender: "M",
			Email: email, RegionCode: "1306"}
	}
	d.Observe(reg("E1", "R1", 0, "1306040107850001", "nanang@example.co.id"))
	// A joki re-uses Nanang's NIK with his own email, and the form's
	// region does not match the NIK.
	ev := reg("E2", "R2", 30, "1306040107850001", "joki@example.com")
	ev.RegionCode = "3171"
	for _, s := range d.Observe(ev) {
		b, _ := json.Marshal(s.Evidence)
		fmt.Println(s.RegistrationID, s.Kind, string(b))
	}
	fmt.Println("registrations:", d.Len())
	// Output:
	// R1 nik_reused_later {"later":["R2"],"more_later":false,"nik":"1306040107850001"}
	// R2 duplicate_nik {"differs":{"R1":["email"]},"earlier":["R1"],"more_earlier":false,"nik":"1306040107850001"}
	// R2 nik_region_mismatch {"nik":"1306040107850001","nik_digits":"1306","region_code":"3171"}
	// registrations: 2
}

func ExampleParseNIK() {
	n, err := identity.ParseNIK("3174054508920003")
	if err != nil {
		panic(err)
	}
	prov, _ := identity.ProvinceName(n.Province)
	fmt.Println(prov, n.Gender(), n.BirthDay(), n.Month, n.Year, n.CheckBirthDate() == "")
	_, err = identity.ParseNIK("3174054508920000")
	fmt.Println(err)
	// Output:
	// DKI Jakarta F 5 8 92 true
	// nik zero_serial: serial 0000 (digits 13-16)
}
