package rendezvous

// defaultURLs are the public MQTT 3.1.1 brokers --p2p meets on when no
// --rendezvous is given: well-known free brokers that accept anonymous
// clients over TLS. They carry only a nameplate and opaque messages (the
// PAKE messages and ciphertext); see the package documentation.
var defaultURLs = []string{
	"mqtts://broker.emqx.io:8883",
	"mqtts://broker.hivemq.com:8883",
	"mqtts://test.mosquitto.org:8886",
}

// DefaultURLs returns the default rendezvous list, or nothing when getenv
// says SOCKCAT_NO_EXTERNAL=1 (tests, and users who want no third party).
func DefaultURLs(getenv func(string) string) []string {
	if getenv("SOCKCAT_NO_EXTERNAL") == "1" {
		return nil
	}
	return append([]string(nil), defaultURLs...)
}
