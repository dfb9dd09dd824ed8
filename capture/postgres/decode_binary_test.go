package postgres

import (
	"encoding/binary"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// numericBytes is numeric_send's form of the given header words and digits.
func numericBytes(weight int16, sign, dscale uint16, digits ...uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(digits)))
	b = binary.BigEndian.AppendUint16(b, uint16(weight))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, dscale)
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}

func TestNumericBinary(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want capture.Value
	}{
		{"zero scale 2", numericBytes(0, numericPos, 2), capture.DecimalValue(0, 2)},
		{"12.34", numericBytes(0, numericPos, 2, 12, 3400), capture.DecimalValue(1234, 2)},
		{"-0.0005", numericBytes(-1, numericNeg, 4, 5), capture.DecimalValue(-5, 4)},
		{"120000", numericBytes(1, numericPos, 0, 12), capture.DecimalValue(120000, 0)},
		// Digits beyond the display scale are cut, as numeric_out prints them.
		{"1.2345 shown with 2", numericBytes(0, numericPos, 2, 1, 2345), capture.DecimalValue(123, 2)},
		{"NaN", numericBytes(0, numericNaN, 0), capture.Value{Kind: capture.Decimal, Flag: capture.NaN}},
		{"-Inf", numericBytes(0, numericNInf, 0), capture.Value{Kind: capture.Decimal, Flag: capture.NegInfinity}},
	}
	for _, c := range cases {
		got, err := numericBinary(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if show(got) != show(c.want) {
			t.Errorf("%s: %s, want %s", c.name, show(got), show(c.want))
		}
	}
	for _, bad := range [][]byte{nil, {0, 1, 0, 0, 0, 0, 0}, numericBytes(0, 0x1234, 0, 1), numericBytes(0, numericPos, 0, 10000),
		append(numericBytes(0, numericPos, 0, 1), 0)} {
		if v, err := numericBinary(bad); err == nil {
			t.Errorf("%x decoded to %s", bad, show(v))
		}
	}
}

func TestDecodeBinaryLength(t *testing.T) {
	for _, k := range []binKind{binBool, binInt2, binInt4, binInt8, binUint4, binFloat4, binFloat8, binDate, binTime, binTimestamp} {
		var v capture.Value
		if err := (&decoder{kind: decTimestampTZ}).decodeBinary(k, &v, []byte{1, 2, 3}); err == nil {
			t.Errorf("kind %d: 3 bytes decoded to %s", k, show(v))
		}
	}
}
