package cli

import (
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

const secretPW = "s3cret-Pa55-in-jaas"

// TestKafkaSecurityProperties: Debezium Server's Kafka client properties (the sink's producer,
// the schema history's producer and consumer, plain Kafka names) set the --kafka-* security
// flags that every Kafka client of the process shares.
func TestKafkaSecurityProperties(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.sink.type=kafka
debezium.sink.kafka.producer.bootstrap.servers=k1:9093
debezium.sink.kafka.producer.security.protocol=SASL_SSL
debezium.sink.kafka.producer.sasl.mechanism=SCRAM-SHA-512
debezium.sink.kafka.producer.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="alice" password="`+secretPW+`";
debezium.sink.kafka.producer.ssl.truststore.location=/etc/kafka/ca.pem
debezium.source.schema.history.internal.consumer.ssl.keystore.location=/etc/kafka/client.pem
database.history.producer.security.protocol=SASL_SSL
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props, "--kafka-tls-server-name", "kafka.internal", "--topic-prefix", "p"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	k := c.Kafka.Client
	want := ikafka.ClientConfig{SecurityProtocol: ikafka.ProtocolSASLSSL,
		TLS:  ikafka.TLSConfig{CAFile: "/etc/kafka/ca.pem", CertFile: "/etc/kafka/client.pem", ServerName: "kafka.internal"},
		SASL: ikafka.SASLConfig{Mechanism: ikafka.MechanismSCRAMSHA512, JAAS: `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="` + secretPW + `";`}}
	if k.SecurityProtocol != want.SecurityProtocol || k.TLS != want.TLS || k.SASL != want.SASL {
		t.Fatalf("got %+v %+v %+v\nwant %+v %+v %+v", k.SecurityProtocol, k.TLS, k.SASL, want.SecurityProtocol, want.TLS, want.SASL)
	}
	if len(c.unknown) != 0 {
		t.Fatalf("properties not used: %v", c.unknown)
	}
}

// TestSecretsNotInErrors: a bad secret, from the environment or the properties file, is
// reported naming its flag and source but never showing its value; and settings that cannot
// work (SASL without a SASL protocol) are refused at parse time.
func TestSecretsNotInErrors(t *testing.T) {
	badJAAS := `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="` + secretPW + `"`
	props := writeFile(t, "app.properties", "sasl.jaas.config="+badJAAS+"\n")
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"env", nil, map[string]string{"SLUICE_KAFKA_SASL_JAAS_CONFIG": badJAAS}, "SLUICE_KAFKA_SASL_JAAS_CONFIG"},
		{"file", []string{"--config", props}, nil, "sasl.jaas.config"},
		{"sasl without protocol", nil, map[string]string{"SLUICE_KAFKA_SASL_PASSWORD": secretPW, "SLUICE_KAFKA_SASL_USERNAME": "u"},
			"set it to SASL_SSL or SASL_PLAINTEXT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, cp := newTestFlags(t)
			if err := fs.Parse(c.args); err != nil {
				t.Fatal(err)
			}
			err := cp.resolve(func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error does not name %s: %v", c.want, err)
			}
			if strings.Contains(err.Error(), secretPW) {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

// TestSecretInArgvWarns: a password given on the command line works, but is listed for a
// warning (other users may read a process's arguments); from the environment it is not.
func TestSecretInArgvWarns(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--kafka-security-protocol", "SASL_SSL", "--kafka-sasl-username", "u", "--kafka-sasl-password", secretPW}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Client.SASL.Password != secretPW || strings.Join(c.argvSecrets, ",") != "kafka-sasl-password" {
		t.Fatalf("password %q, argv secrets %v", c.Kafka.Client.SASL.Password, c.argvSecrets)
	}
	if f := fs.Lookup("kafka-sasl-password"); strings.Contains(f.Value.String(), secretPW) {
		t.Fatal("the flag's value shows the password")
	}
	fs, c = newTestFlags(t)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLUICE_TOPIC_PREFIX": "p", "SLUICE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "SLUICE_KAFKA_SASL_USERNAME": "u", "SLUICE_KAFKA_SASL_PASSWORD": secretPW}
	if err := c.resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Client.SASL.Password != secretPW || len(c.argvSecrets) != 0 {
		t.Fatalf("password %q, argv secrets %v", c.Kafka.Client.SASL.Password, c.argvSecrets)
	}
	for dsn, warn := range map[string]bool{"postgres://u:" + secretPW + "@h/db": true, "postgres://u@h/db": false,
		"host=h password=" + secretPW: true, "u:" + secretPW + "@tcp(h:3306)/": true, "u@tcp(h:3306)/": false} {
		fs, c = newTestFlags(t)
		if err := fs.Parse([]string{"--topic-prefix", "p", "--dsn", dsn}); err != nil {
			t.Fatal(err)
		}
		if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		if got := len(c.argvSecrets) == 1; got != warn {
			t.Errorf("--dsn %s: warned %v, want %v", dsn, got, warn)
		}
	}
}

// TestKafkaPingSecure: the ping before each source open logs in like every Kafka client; a
// refused login or an untrusted certificate is not retryable, so Run stops at once instead of
// reopening the source for --errors-retry-timeout.
func TestKafkaPingSecure(t *testing.T) {
	k := testkit.NewSecureKafka(t, ikafka.MechanismSCRAMSHA256)
	other := testkit.NewTestCA(t, "other")
	for _, c := range []struct {
		name   string
		ca     string
		user   string
		wantOK bool
	}{
		{"right", k.CA.CAFile, k.User, true},
		{"wrong user", k.CA.CAFile, "mallory", false},
		{"wrong CA", other.CAFile, k.User, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, cp := newTestFlags(t)
			cp.Kafka.Client = ikafka.ClientConfig{Brokers: k.Brokers, SecurityProtocol: ikafka.ProtocolSASLSSL,
				TLS:  ikafka.TLSConfig{CAFile: c.ca},
				SASL: ikafka.SASLConfig{Mechanism: k.Mechanism, Username: c.user, Password: k.Password}}
			err := kafkaSink{cp}.Ping(t.Context())
			if c.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || capture.Retryable(err) {
				t.Fatalf("Ping = %v; want a non-retryable error", err)
			}
			if strings.Contains(err.Error(), k.Password) {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

// TestConflictingProperties: two properties that set one flag with different values (the
// sink's and the schema history's security.protocol) are an error, not a silent choice; the
// values of secrets are not shown.
func TestConflictingProperties(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.source.topic.prefix=p
debezium.sink.kafka.producer.security.protocol=SASL_SSL
schema.history.internal.producer.security.protocol=SSL
sasl.jaas.config=a `+secretPW+`
debezium.sink.kafka.producer.sasl.jaas.config=b `+secretPW+`
bootstrap.servers=k1:9092
debezium.sink.kafka.producer.bootstrap.servers=k1:9092
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "both set --kafka-security-protocol") || !strings.Contains(err.Error(), "both set --kafka-sasl-jaas-config") {
		t.Fatalf("got %v, want the conflicts named", err)
	}
	if strings.Contains(err.Error(), "kafka-brokers") || strings.Contains(err.Error(), secretPW) {
		t.Fatalf("equal values are no conflict, and secrets stay hidden: %v", err)
	}
}
