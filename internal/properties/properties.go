// Package properties reads Java .properties files, the format of Debezium Server's
// application.properties and of Kafka Connect connector configs, and holds the small pieces
// components use to name their flags and Debezium properties (Names, Func, ListVar).
package properties

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Read parses the file at path with Parse, or with ParseJSON when its first non-blank byte is
// '{' (a Kafka Connect connector configuration as posted to its REST API).
func Read(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	parse := Parse
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		parse = ParseJSON
	}
	p, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return p, nil
}

// ParseJSON parses a Kafka Connect connector configuration: {"name": N, "config": {…}} (as
// Debezium's documentation shows them) or the bare {…} of its config, whose values may be
// strings, numbers or booleans. The name becomes the property "name".
func ParseJSON(b []byte) (map[string]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	conf := top
	if raw, ok := top["config"]; ok {
		conf = nil
		if err := json.Unmarshal(raw, &conf); err != nil {
			return nil, fmt.Errorf(`"config": not a JSON object: %w`, err)
		}
	}
	out := make(map[string]string, len(conf)+1)
	if raw, ok := top["name"]; ok && top["config"] != nil {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, fmt.Errorf(`"name": want a string`)
		}
		out["name"] = name
	}
	for k, raw := range conf {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool:
			out[k] = strconv.FormatBool(v)
		case float64:
			out[k] = strings.TrimSpace(string(raw))
		case nil:
			out[k] = ""
		default:
			return nil, fmt.Errorf("%q: want a string, number or boolean", k)
		}
	}
	return out, nil
}

// Parse parses .properties text: key=value, key: value or key value per line, # and ! comment
// lines, backslash line continuation and escapes (\t \n \r \f \uXXXX, \= \: \ and others
// stand for themselves). Keys are returned as written; a later key replaces an earlier one.
func Parse(b []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	lineNo := 0
	var logical strings.Builder
	start := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if logical.Len() == 0 {
			line = strings.TrimLeft(line, " \t\f")
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			start = lineNo
		} else {
			line = strings.TrimLeft(line, " \t\f")
		}
		// An odd number of trailing backslashes continues the line.
		n := len(line) - len(strings.TrimRight(line, `\`))
		if n%2 == 1 {
			logical.WriteString(line[:len(line)-1])
			continue
		}
		logical.WriteString(line)
		k, v, err := splitProperty(logical.String())
		logical.Reset()
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		out[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if logical.Len() > 0 {
		k, v, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", start, err)
		}
		out[k] = v
	}
	return out, nil
}

// splitProperty splits a logical line at the first unescaped '=', ':' or whitespace.
func splitProperty(s string) (string, string, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			i = min(i+2, len(s))
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	key := unescape(s[:i])
	rest := strings.TrimLeft(s[i:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	if key == "" {
		return "", "", fmt.Errorf("empty property name")
	}
	return key, unescape(rest), nil
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				var r rune
				if _, err := fmt.Sscanf(s[i+1:i+5], "%04x", &r); err == nil {
					b.WriteRune(r)
					i += 4
					continue
				}
			}
			b.WriteByte('u')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
