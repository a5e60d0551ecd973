package sim_test

import (
	"fmt"

	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/pipeline/sim"
)

// Write a wave as JSON lines: events with Encode, labels with EncodeLabel.
func Example() {
	cfg := sim.DefaultConfig()
	cfg.Events = 2
	_ = sim.Generate(cfg, func(ev *event.Event, l sim.Label) error {
		b, _ := sim.Encode(ev)
		lb, _ := sim.EncodeLabel(l)
		fmt.Printf("%s\n%s\n", b, lb)
		return nil
	})
	// Output:
	// {"schema":"waspada.registration/v1","event_id":"E000000001","type":"registration.submitted","occurred_at":"2026-04-11T00:00:00.000Z","registration_id":"R00000001","nik":"3277012112040862","full_name":"DIAN ASTUTI","birth_date":"2004-12-21","gender":"M","email":"dian48271@gmail.com","phone":"+628821276234","region_code":"3277","ip":"114.122.120.47","device_id":"D76c06aa107ef","user_agent":"Mozilla/5.0 (Linux; Android 12; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"}
	// {"event_id":"E000000001","registration_id":"R00000001","fraud":false}
	// {"schema":"waspada.registration/v1","event_id":"E000000002","type":"registration.submitted","occurred_at":"2026-04-11T00:00:00.015Z","registration_id":"R00000002","nik":"3515146105000447","full_name":"YULI WULAN HAKIM","birth_date":"2000-05-21","gender":"F","email":"yulihakim96542@gmail.com","phone":"+628211292230","region_code":"3515","ip":"36.69.155.155","device_id":"D7633b6609990","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"}
	// {"event_id":"E000000002","registration_id":"R00000002","fraud":false}
}
