package properties

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Expand resolves the placeholders in a value of a properties file, so that secrets can live
// outside it:
//
//	${file:PATH:KEY}       the property KEY of the properties file PATH (Kafka Connect's
//	                       FileConfigProvider)
//	${file:PATH}           the whole file PATH, one trailing line end dropped (a mounted secret;
//	                       FileConfigProvider has no such form)
//	${directory:DIR:NAME}  the file NAME in DIR, as a whole (DirectoryConfigProvider)
//	${env:NAME}            the environment variable NAME (EnvVarConfigProvider)
//	${NAME} ${NAME:DEF}    Debezium Server's (Quarkus) expressions: the environment variable NAME
//	                       (or its upper-case, '_'-separated form, so db.password reads
//	                       DB_PASSWORD), else the property NAME of the same file, else DEF
//
// Unlike Kafka, which leaves a placeholder it cannot resolve in place, a missing file, key or
// variable is an error: a literal "${env:PW}" sent as a password fails later and less clearly.
// Errors name the placeholder, never a value it resolves to. lookupEnv is os.LookupEnv in a
// process; props (may be nil) are the file's other properties, unexpanded.
func Expand(v string, lookupEnv func(string) (string, bool), props map[string]string) (string, error) {
	return expand(v, lookupEnv, props, 0)
}

// HasPlaceholder reports whether v holds a ${…} placeholder, whose value must not be shown.
func HasPlaceholder(v string) bool {
	i := strings.Index(v, "${")
	return i >= 0 && strings.Contains(v[i:], "}")
}

func expand(v string, lookupEnv func(string) (string, bool), props map[string]string, depth int) (string, error) {
	if !strings.Contains(v, "${") {
		return v, nil
	}
	if depth > 8 {
		return "", errors.New("placeholders nest too deep (a property that refers to itself?)")
	}
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			break
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			b.WriteString(v)
			break
		}
		b.WriteString(v[:i])
		ref := v[i+2 : i+j]
		got, err := resolve(ref, lookupEnv, props, depth)
		if err != nil {
			return "", fmt.Errorf("${%s}: %w", ref, err)
		}
		b.WriteString(got)
		v = v[i+j+1:]
	}
	return b.String(), nil
}

func resolve(ref string, lookupEnv func(string) (string, bool), props map[string]string, depth int) (string, error) {
	kind, rest, _ := strings.Cut(ref, ":")
	switch kind {
	case "env":
		if rest == "" {
			return "", errors.New("want ${env:NAME}")
		}
		if v, ok := lookupEnv(rest); ok {
			return v, nil
		}
		return "", fmt.Errorf("environment variable %s is not set", rest)
	case "file":
		// The path may hold ':' (C:\ on Windows is not a concern here, but a key is
		// the part after the last ':' only if the path before it is a file).
		if rest == "" {
			return "", errors.New("want ${file:PATH:KEY} or ${file:PATH}")
		}
		if k := strings.LastIndexByte(rest, ':'); k > 0 {
			path, key := rest[:k], rest[k+1:]
			if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
				p, err := Read(path)
				if err != nil {
					return "", err
				}
				v, ok := p[key]
				if !ok {
					return "", fmt.Errorf("file %s has no property %s", path, key)
				}
				return v, nil
			}
		}
		return readWhole(rest)
	case "directory":
		dir, name, ok := strings.Cut(rest, ":")
		if !ok || dir == "" || name == "" || strings.Contains(name, "/") {
			return "", errors.New("want ${directory:DIR:FILE}")
		}
		return readWhole(filepath.Join(dir, name))
	}
	// Quarkus: ${name} or ${name:default}.
	name, def, hasDef := strings.Cut(ref, ":")
	if name == "" {
		return "", errors.New("empty placeholder")
	}
	if v, ok := lookupEnv(name); ok {
		return v, nil
	}
	if v, ok := lookupEnv(envForm(name)); ok {
		return v, nil
	}
	if v, ok := props[name]; ok {
		return expand(v, lookupEnv, props, depth+1)
	}
	if hasDef {
		return def, nil
	}
	return "", fmt.Errorf("neither the environment variable %s nor the property %s is set (write ${%s:DEFAULT} for a default)", envForm(name), name, name)
}

// envForm is Quarkus's environment name of a property: upper case, every character other
// than a letter or digit replaced by '_'.
func envForm(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// readWhole reads a secret file as a whole, without one trailing line end. Its error names
// the file, never its content.
func readWhole(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", fmt.Errorf("read %s: %w", path, pe.Err)
		}
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}
