package clickhouse

import "fmt"

func sprint(v any) string {
	switch x := v.(type) {
	case interface{ String() string }:
		return x.String()
	}
	s := fmt.Sprint(v)
	if len(s) > 2 && s[0] == '[' {
		s = s[1 : len(s)-1]
	}
	return s
}
