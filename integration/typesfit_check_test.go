//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// fitsConnect checks that v (JSON decoded with UseNumber) is a valid value of the Kafka Connect
// schema sch (JsonConverter's JSON form): the Connect type, and for Connect's and Debezium's
// logical types also the representation (a Decimal's unscaled bytes within its precision, a
// Bits value within its length, a ZonedTimestamp an ISO instant in UTC, an Enum one of its
// allowed labels, Json text that parses, …). Field defaults are checked the same way. It
// returns one line per problem, each starting with path. pg says the record is PostgreSQL's.
func fitsConnect(sch map[string]any, v any, path string, pg bool) []string {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	typ, _ := sch["type"].(string)
	name, _ := sch["name"].(string)
	if name != "" && typ != "struct" || strings.HasPrefix(name, "io.debezium.data.") {
		path += "<" + name + ">"
	}
	if v == nil {
		if opt, _ := sch["optional"].(bool); !opt {
			bad("null in a required %s field", typ)
		}
		return errs
	}
	params, _ := sch["parameters"].(map[string]any)
	param := func(k string) string { s, _ := params[k].(string); return s }

	switch typ {
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("boolean schema, value %s", show(v))
		}
	case "int8", "int16", "int32", "int64":
		n, ok := v.(json.Number)
		if !ok {
			bad("%s schema, value %s", typ, show(v))
			break
		}
		bits := map[string]int{"int8": 8, "int16": 16, "int32": 32, "int64": 64}[typ]
		if _, err := strconv.ParseInt(string(n), 10, bits); err != nil {
			bad("%s schema, value %s out of range or not an integer", typ, n)
		}
	case "float", "double":
		switch x := v.(type) {
		case json.Number:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				bad("%s schema, value %s", typ, x)
			} else if typ == "float" && math.Abs(f) > math.MaxFloat32 {
				bad("float schema, value %s beyond float32", x)
			}
		case string: // JsonConverter writes non-finite numbers as strings
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				bad("%s schema, string value %q", typ, x)
			}
		default:
			bad("%s schema, value %s", typ, show(v))
		}
	case "string":
		if _, ok := v.(string); !ok {
			bad("string schema, value %s", show(v))
		}
	case "bytes":
		s, ok := v.(string)
		if !ok {
			bad("bytes schema, value %s", show(v))
			break
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			bad("bytes schema, value %q is not Base64: %v", s, err)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("array schema, value %s", show(v))
			break
		}
		items, _ := sch["items"].(map[string]any)
		for i, e := range a {
			errs = append(errs, fitsConnect(items, e, fmt.Sprintf("%s[%d]", path, i), pg)...)
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad("map schema, value %s", show(v))
			break
		}
		vals, _ := sch["values"].(map[string]any)
		for k, e := range m {
			errs = append(errs, fitsConnect(vals, e, path+"{"+k+"}", pg)...)
		}
	case "struct":
		m, ok := v.(map[string]any)
		if !ok {
			bad("struct schema, value %s", show(v))
			break
		}
		fields, _ := sch["fields"].([]any)
		seen := map[string]bool{}
		for _, f := range fields {
			fs, _ := f.(map[string]any)
			fn, _ := fs["field"].(string)
			seen[fn] = true
			fv, present := m[fn]
			if !present {
				bad("field %s missing from the payload", fn)
				continue
			}
			errs = append(errs, fitsConnect(fs, fv, path+"."+fn, pg)...)
			if d, has := fs["default"]; has {
				errs = append(errs, fitsConnect(fs, d, path+"."+fn+"(default)", pg)...)
			}
		}
		for k := range m {
			if !seen[k] {
				bad("payload field %s has no schema", k)
			}
		}
	default:
		bad("unknown schema type %q", typ)
	}
	if len(errs) > 0 {
		return errs
	}

	// The representation of logical types. Debezium's unavailable.value.placeholder (an
	// unchanged TOAST value) stands in for a value of any string type.
	str, _ := v.(string)
	if str == envelope.Unavailable {
		return errs
	}
	// In a before image that has only the key (PostgreSQL's default replica identity) every
	// other required column holds Debezium's fallback, "" for strings and bytes alike.
	fallback := strings.Contains(path, ".before.") && str == ""
	num, _ := v.(json.Number)
	switch name {
	case "org.apache.kafka.connect.data.Decimal":
		b, _ := base64.StdEncoding.DecodeString(str)
		if len(b) == 0 {
			bad("Decimal with no bytes")
			break
		}
		scale, err := strconv.Atoi(param("scale"))
		if err != nil {
			bad("Decimal without an integer scale parameter")
		}
		if p := param("connect.decimal.precision"); p != "" {
			prec, _ := strconv.Atoi(p)
			if d := digits(twosComplement(b)); d > prec {
				bad("Decimal unscaled %s (scale %d) has %d digits, more than precision %d", twosComplement(b), scale, d, prec)
			}
		}
	case "io.debezium.data.VariableScaleDecimal":
		m := v.(map[string]any)
		if b, _ := base64.StdEncoding.DecodeString(fmt.Sprint(m["value"])); len(b) == 0 {
			bad("VariableScaleDecimal with no bytes")
		}
	case "io.debezium.data.Bits":
		b, _ := base64.StdEncoding.DecodeString(str)
		n, err := strconv.Atoi(param("length"))
		if err != nil || n < 1 {
			bad("Bits without a length parameter")
			break
		}
		want := (n + 7) / 8
		if len(b) > want {
			bad("Bits(%d) value of %d bytes", n, len(b))
		}
		switch {
		case pg && len(b) > 0 && b[len(b)-1] == 0:
			// PostgresValueConverter sizes the bytes by the highest bit set
			bad("Bits(%d) value %x ends in a zero byte", n, b)
		case !pg && want <= 64 && len(b) != want && !fallback: // MySQL: padded to the declared length
			bad("Bits(%d) value of %d bytes, want %d", n, len(b), want)
		}
	case "org.apache.kafka.connect.data.Time": // io.debezium.time.Time may exceed a day (MySQL)
		if ms, _ := strconv.ParseInt(string(num), 10, 64); ms < 0 || ms > 86_400_000 {
			bad("%s %s ms outside a day", name, num)
		}
	case "io.debezium.time.MicroTime":
		const mysqlMax = (838*3600 + 59*60 + 59) * 1_000_000 // MySQL TIME spans ±838:59:59
		if us, _ := strconv.ParseInt(string(num), 10, 64); us < -mysqlMax || us > mysqlMax {
			bad("MicroTime %s µs outside ±838:59:59", num)
		}
	case "io.debezium.time.Year":
		if y, _ := strconv.Atoi(string(num)); y != 0 && (y < 1901 || y > 2155) {
			bad("Year %s", num)
		}
	case "io.debezium.time.ZonedTimestamp":
		if str != "infinity" && str != "-infinity" && !zonedTimestampRE.MatchString(str) {
			bad("ZonedTimestamp %q is not an ISO-8601 instant in UTC", str)
		}
	case "io.debezium.time.ZonedTime":
		if !zonedTimeRE.MatchString(str) {
			bad("ZonedTime %q is not an ISO-8601 time in UTC", str)
		}
	case "io.debezium.time.IsoDate":
		if !isoDateRE.MatchString(str) {
			bad("IsoDate %q", str)
		}
	case "io.debezium.time.IsoTime":
		if !isoTimeRE.MatchString(str) {
			bad("IsoTime %q", str)
		}
	case "io.debezium.time.IsoTimestamp":
		if !isoTimestampRE.MatchString(str) {
			bad("IsoTimestamp %q", str)
		}
	case "io.debezium.data.Enum":
		// "" is MySQL's error value (index 0) of an ENUM, which Debezium passes on as is. MySQL
		// labels are escaped in allowed ("a\,b"); PostgreSQL labels are joined as they are.
		if allowed := param("allowed"); str != "" && !slices.Contains(splitAllowed(allowed), str) &&
			!strings.Contains(","+allowed+",", ","+str+",") {
			bad("Enum value %q not in allowed %q", str, allowed)
		}
	case "io.debezium.data.EnumSet":
		allowed := splitAllowed(param("allowed"))
		for _, e := range strings.Split(str, ",") {
			if str != "" && !slices.Contains(allowed, e) {
				bad("EnumSet member %q not in allowed %v", e, allowed)
			}
		}
	case "io.debezium.data.Json":
		if !json.Valid([]byte(str)) && !fallback {
			bad("Json %q does not parse", str)
		}
	case "io.debezium.data.Uuid":
		if !uuidRE.MatchString(str) && !fallback {
			bad("Uuid %q", str)
		}
	case "io.debezium.data.geometry.Point":
		m := v.(map[string]any)
		if wkb, ok := m["wkb"].(string); ok {
			if b, _ := base64.StdEncoding.DecodeString(wkb); len(b) != 21 {
				bad("Point wkb of %d bytes, want 21", len(b))
			}
		}
	case "io.debezium.data.geometry.Geometry", "io.debezium.data.geometry.Geography":
		m := v.(map[string]any)
		if b, _ := base64.StdEncoding.DecodeString(fmt.Sprint(m["wkb"])); len(b) < 5 {
			bad("%s wkb of %d bytes", name, len(b))
		}
	}
	return errs
}

var (
	zonedTimestampRE = regexp.MustCompile(`^[+-]?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$`)
	zonedTimeRE      = regexp.MustCompile(`^\d\d:\d\d:\d\d(\.\d{1,9})?Z$`)
	isoDateRE        = regexp.MustCompile(`^[+-]?\d{4,}-\d\d-\d\dZ$`)
	isoTimeRE        = regexp.MustCompile(`^-?\d\d+:\d\d:\d\d(\.\d{1,9})?Z$`)
	isoTimestampRE   = regexp.MustCompile(`^[+-]?\d{4,}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z?$`)
	uuidRE           = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// twosComplement reads big-endian two's-complement bytes (Connect's Decimal encoding).
func twosComplement(b []byte) *big.Int {
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return n
}

func digits(n *big.Int) int {
	s := new(big.Int).Abs(n).String()
	if s == "0" {
		return 1
	}
	return len(s)
}

func show(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:77], "..."...)
	}
	return fmt.Sprintf("%T %s", v, b)
}

// checkRecord decodes one JsonConverter record ({"schema":…,"payload":…}) and checks that its
// payload fits its schema.
func checkRecord(data []byte, what string) []string {
	if data == nil {
		return nil // a tombstone
	}
	var rec struct {
		Schema  map[string]any `json:"schema"`
		Payload any            `json:"payload"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&rec); err != nil {
		return []string{fmt.Sprintf("%s: not JSON: %v: %.200s", what, err, data)}
	}
	if rec.Schema == nil {
		return []string{what + ": no schema (schemas.enable must be on)"}
	}
	return fitsConnect(rec.Schema, rec.Payload, what, bytes.Contains(data, []byte(`"io.debezium.connector.postgresql.Source"`)))
}

// splitAllowed splits an allowed parameter as Debezium's EnumeratedValues.fromCommaSeparatedString
// does: on ',' not escaped by '\'; "\," and "\\" stand for ',' and '\'.
func splitAllowed(s string) []string {
	var out []string
	var cur []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == '\\'):
			i++
			cur = append(cur, s[i])
		case c == ',':
			out, cur = append(out, string(cur)), cur[:0]
		default:
			cur = append(cur, c)
		}
	}
	return append(out, string(cur))
}
