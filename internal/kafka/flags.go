package kafka

import (
	"flag"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/internal/properties"
)

// securityPrefixes are where Debezium (Server) configurations set a Kafka client's properties:
// plain Kafka (Connect worker) names, the Kafka sink's producer, and the schema history's
// producer and consumer (database.history.* before Debezium 2.0), the signal channel's consumer. sluice's clients of one process share one connection setting, so all
// of them set the same flags.
var securityPrefixes = []string{"", "debezium.sink.kafka.producer.", "schema.history.internal.producer.", "schema.history.internal.consumer.",
	"database.history.producer.", "database.history.consumer.", "signal.consumer."}

// RegisterSecurityFlags registers the TLS and SASL settings of c on fs (--kafka-security-protocol,
// --kafka-tls-*, --kafka-sasl-*) and returns their Kafka property names (security.protocol,
// ssl.truststore.location, ssl.keystore.location, sasl.mechanism, sasl.jaas.config), also under
// the prefixes Debezium Server uses for its Kafka clients (and signal.consumer., the Kafka signal channel's). Secrets (the password, the JAAS
// line) are never shown: not in -h, not in errors.
func (c *ClientConfig) RegisterSecurityFlags(fs *flag.FlagSet) properties.Names {
	fs.Var(properties.Func(ProtocolPlaintext, func(s string) error {
		switch v := strings.ToUpper(strings.TrimSpace(s)); v {
		case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
			c.SecurityProtocol = v
			return nil
		}
		return fmt.Errorf("want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
	}), "kafka-security-protocol", "Kafka security.protocol: PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL (SSL: TLS, verified; SASL_*: log in with --kafka-sasl-*)")
	fs.StringVar(&c.TLS.CAFile, "kafka-tls-ca-file", "", "PEM file of the CAs that sign the brokers' certificates (ssl.truststore.location, PEM); default: the system's")
	fs.StringVar(&c.TLS.CertFile, "kafka-tls-cert-file", "", "PEM client certificate for brokers that require one (ssl.keystore.location, PEM; may hold the key too)")
	fs.StringVar(&c.TLS.KeyFile, "kafka-tls-key-file", "", "PEM private key of --kafka-tls-cert-file (unencrypted); default: read from the certificate file")
	fs.StringVar(&c.TLS.ServerName, "kafka-tls-server-name", "", "name the brokers' certificates must carry; default: the host of each broker address")
	fs.Var(properties.Func(VerifyFull, func(s string) error {
		switch s {
		case VerifyFull, VerifyCA, VerifyNone:
			c.TLS.Verify = s
			if s == VerifyFull {
				c.TLS.Verify = ""
			}
			return nil
		}
		return fmt.Errorf("want full, ca or none")
	}), "kafka-tls-verify", "check of the brokers' certificates: full (chain and name), ca (chain only, as ssl.endpoint.identification.algorithm empty), none (unverified: logs a warning)")
	fs.Var(properties.Func(MechanismPlain, func(s string) error {
		switch v := strings.ToUpper(strings.TrimSpace(s)); v {
		case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
			c.SASL.Mechanism = v
			if v == MechanismPlain {
				c.SASL.Mechanism = ""
			}
			return nil
		}
		return fmt.Errorf("want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}), "kafka-sasl-mechanism", "Kafka sasl.mechanism with SASL_*: PLAIN|SCRAM-SHA-256|SCRAM-SHA-512")
	fs.StringVar(&c.SASL.Username, "kafka-sasl-username", "", "SASL user name with SASL_*")
	fs.StringVar(&c.SASL.PasswordFile, "kafka-sasl-password-file", "", "read the SASL password from this file (first line); or set SLUICE_KAFKA_SASL_PASSWORD")
	fs.Var(properties.Secret(func(s string) error { c.SASL.Password = s; return nil }), "kafka-sasl-password",
		"SASL password; prefer --kafka-sasl-password-file or SLUICE_KAFKA_SASL_PASSWORD: on the command line others may read it (a warning says so)")
	fs.Var(properties.Secret(func(s string) error {
		c.SASL.JAAS = s
		if s == "" {
			return nil
		}
		_, err := parseJAAS(s)
		return err
	}), "kafka-sasl-jaas-config", "Kafka sasl.jaas.config: PlainLoginModule or ScramLoginModule with username and password (best in the --config file or SLUICE_KAFKA_SASL_JAAS_CONFIG)")
	n := properties.Names{}
	for _, p := range securityPrefixes {
		n[p+"security.protocol"] = "kafka-security-protocol"
		n[p+"ssl.truststore.location"] = "kafka-tls-ca-file"
		n[p+"ssl.keystore.location"] = "kafka-tls-cert-file"
		n[p+"sasl.mechanism"] = "kafka-sasl-mechanism"
		n[p+"sasl.jaas.config"] = "kafka-sasl-jaas-config"
	}
	return n
}
