package kafka

import (
	"errors"
	"fmt"
	"strings"
)

// Login modules of Kafka's sasl.jaas.config for the mechanisms sluice speaks.
const (
	jaasPlain = "org.apache.kafka.common.security.plain.PlainLoginModule"
	jaasScram = "org.apache.kafka.common.security.scram.ScramLoginModule"
)

// jaas is a parsed sasl.jaas.config line.
type jaas struct {
	module   string
	username string
	password string
}

// parseJAAS parses a Kafka client JAAS line:
//
//	org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";
//
// Option values may be quoted ("…", with \" and \\ escapes) or bare. Errors never quote the
// line: it holds a password.
func parseJAAS(s string) (jaas, error) {
	var j jaas
	s = strings.TrimSpace(s)
	s, ok := strings.CutSuffix(s, ";")
	if !ok {
		return j, errors.New("sasl.jaas.config: must end with ';'")
	}
	mod, rest, _ := strings.Cut(s, " ")
	j.module = mod
	if mod != jaasPlain && mod != jaasScram {
		return j, fmt.Errorf("sasl.jaas.config: login module %q: want %s or %s", mod, jaasPlain, jaasScram)
	}
	rest = strings.TrimSpace(rest)
	flag, rest, _ := strings.Cut(rest, " ")
	switch flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return j, errors.New("sasl.jaas.config: the login module must be followed by a control flag (required)")
	}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, ok := strings.Cut(rest, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return j, errors.New("sasl.jaas.config: want options as key=\"value\"")
		}
		var val string
		if after, ok = strings.CutPrefix(after, `"`); ok {
			var b strings.Builder
			i := 0
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			if i == len(after) {
				return j, fmt.Errorf("sasl.jaas.config: option %s: missing closing quote", key)
			}
			val, rest = b.String(), after[i+1:]
		} else {
			val, rest, _ = strings.Cut(after, " ")
		}
		switch key {
		case "username":
			j.username = val
		case "password":
			j.password = val
		}
	}
	if j.username == "" || j.password == "" {
		return j, errors.New("sasl.jaas.config: needs username=\"…\" and password=\"…\"")
	}
	return j, nil
}
