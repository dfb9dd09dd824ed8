package clickhousecmd

import (
	"strings"
	"testing"
)

// TestKafkaSecurity: sluice clickhouse's Kafka input takes the same security settings as the
// capture commands (properties file, env), and refuses ones that cannot work before it
// connects, without showing the password.
func TestKafkaSecurity(t *testing.T) {
	props := writeFile(t, `
bootstrap.servers=k1:9093
topics.regex=srv\\..*
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-256
ssl.truststore.location=/etc/kafka/ca.pem
`)
	t.Setenv("SLUICE_KAFKA_SASL_USERNAME", "ch")
	t.Setenv("SLUICE_KAFKA_SASL_PASSWORD", "ch-kafka-secret")
	cc, _, err := parse("sluice clickhouse", []string{"--config", props})
	if err != nil {
		t.Fatal(err)
	}
	c := cc.Client
	if c.SecurityProtocol != "SASL_SSL" || c.SASL.Mechanism != "SCRAM-SHA-256" || c.SASL.Username != "ch" ||
		c.SASL.Password != "ch-kafka-secret" || c.TLS.CAFile != "/etc/kafka/ca.pem" {
		t.Fatalf("client settings: %+v", c)
	}
	_, _, err = parse("sluice clickhouse", []string{"--config", props, "--kafka-security-protocol", "SSL"})
	if err == nil || !strings.Contains(err.Error(), "SASL settings given") || strings.Contains(err.Error(), "ch-kafka-secret") {
		t.Fatalf("SASL with SSL: %v", err)
	}
}
