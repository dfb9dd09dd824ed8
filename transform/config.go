package transform

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Prefixes are the property prefixes of transforms: Kafka Connect's transforms.<name>.… and
// Debezium Server's debezium.transforms.<name>.….
var Prefixes = []string{"transforms", "debezium.transforms"}

// ParseProperties reads the transforms of a Debezium-style configuration: transforms=a,b lists
// them in order, transforms.a.type names a's type and transforms.a.<option> its options (also
// under Debezium Server's debezium.transforms). Keys of other properties are ignored. An option
// of a transform that transforms= does not list is an error (a typo there would silently
// disable it).
func ParseProperties(props map[string]string) ([]Spec, error) {
	var list string
	var listKey string
	for _, p := range Prefixes {
		if v, ok := props[p]; ok {
			if listKey != "" && strings.TrimSpace(v) != strings.TrimSpace(list) {
				return nil, fmt.Errorf("%s=%q and %s=%q disagree: set one", listKey, list, p, v)
			}
			list, listKey = v, p
		}
	}
	opts := map[string]map[string]string{}
	var errs []error
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, p := range Prefixes {
			rest, ok := strings.CutPrefix(k, p+".")
			if !ok {
				continue
			}
			name, opt, ok := strings.Cut(rest, ".")
			if !ok || name == "" || opt == "" {
				errs = append(errs, fmt.Errorf("%s: want %s.<name>.<option>", k, p))
				continue
			}
			if opts[name] == nil {
				opts[name] = map[string]string{}
			}
			opts[name][opt] = props[k]
		}
	}
	specs, err := Specs(list, opts)
	if err != nil {
		errs = append(errs, err)
	}
	return specs, errors.Join(errs...)
}

// Specs builds the specs of the comma-separated names list from each name's options (type
// among them).
func Specs(list string, opts map[string]map[string]string) ([]Spec, error) {
	var (
		specs []Spec
		errs  []error
		seen  = map[string]bool{}
	)
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("transforms=%s: %s is listed twice", list, name))
			continue
		}
		seen[name] = true
		o := map[string]string{}
		for k, v := range opts[name] {
			o[k] = v
		}
		s := Spec{Name: name, Type: strings.TrimSpace(o["type"])}
		delete(o, "type")
		s.Options = o
		specs = append(specs, s)
	}
	var orphans []string
	for name := range opts {
		if !seen[name] {
			orphans = append(orphans, name)
		}
	}
	sort.Strings(orphans)
	for _, name := range orphans {
		errs = append(errs, fmt.Errorf("transforms.%s.* is set but %s is not in transforms=%s", name, name, list))
	}
	return specs, errors.Join(errs...)
}
