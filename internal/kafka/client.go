package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// DefaultVersion is the Kafka protocol version spoken when ClientConfig.Version is not set.
var DefaultVersion = sarama.V3_6_0_0

// ClientConfig holds the settings every sarama client of one process shares. Zero values mean
// the defaults written beside each field. Each component that talks to Kafka takes one and
// builds its sarama configuration from Sarama, so a connection setting added here (TLS, SASL)
// reaches all of them.
type ClientConfig struct {
	// Brokers is the bootstrap list, host:port each. Required.
	Brokers []string
	// ClientID is Kafka's client.id; empty means the component's own default ("sluice",
	// "sluice-offsets", …), so that broker logs and quotas tell the clients apart.
	ClientID string
	// Version is the Kafka protocol version to speak; defaults to DefaultVersion.
	Version sarama.KafkaVersion
}

// ParseBrokers splits a comma-separated bootstrap list, dropping blanks around and between
// items.
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Validate reports every bad field.
func (c *ClientConfig) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers given (--kafka-brokers host:port,…)")
	}
	return nil
}

// Sarama returns a new sarama configuration carrying the client settings; defaultClientID is
// used when ClientID is empty. The caller adds its producer or consumer settings.
func (c *ClientConfig) Sarama(defaultClientID string) *sarama.Config {
	sc := sarama.NewConfig()
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = defaultClientID
	}
	sc.Version = c.Version
	if sc.Version == (sarama.KafkaVersion{}) {
		sc.Version = DefaultVersion
	}
	return sc
}

// Connect opens a client to the brokers with sc (from Sarama, completed by the caller).
func (c *ClientConfig) Connect(sc *sarama.Config) (sarama.Client, error) {
	client, err := sarama.NewClient(c.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(c.Brokers, ","), err)
	}
	return client, nil
}
