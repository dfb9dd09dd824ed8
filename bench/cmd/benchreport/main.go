// Command benchreport turns the raw samples of a bench.sh run into the Markdown table (stdout)
// and bench/results/latest.json. Inputs:
//
//	-samples FILE  lines "rep<TAB>key<TAB>value": one measurement of one repetition
//	-figures FILE  lines "name<TAB>unit<TAB>key<TAB>reference_name<TAB>reference_key<TAB>better"
//	               better is "higher" or "lower"; reference_key "=N" is a constant (a goal)
//
// Each figure's value is the median over repetitions with [min–max]; its ratio is the median of
// the per-repetition ratios to the reference measured in the same repetition, oriented so that
// higher is better (value/reference when higher is better, reference/value otherwise).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

type figure struct {
	Name      string    `json:"name"`
	Value     float64   `json:"value"`
	Unit      string    `json:"unit"`
	RefName   string    `json:"reference_name"`
	RefValue  *float64  `json:"reference_value"`
	Ratio     *float64  `json:"ratio"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	Runs      int       `json:"runs"`
	RatioMin  *float64  `json:"ratio_min,omitempty"`
	RatioMax  *float64  `json:"ratio_max,omitempty"`
	RefMin    *float64  `json:"reference_min,omitempty"`
	RefMax    *float64  `json:"reference_max,omitempty"`
	RefRuns   int       `json:"reference_runs,omitempty"`
	ValuesRaw []float64 `json:"values"`
}

func main() {
	samplesPath := flag.String("samples", "", "samples TSV")
	figuresPath := flag.String("figures", "", "figures TSV")
	out := flag.String("json", "", "write the JSON array here")
	title := flag.String("title", "", "line printed above the table")
	flag.Parse()
	samples := map[string]map[string]float64{} // key -> rep -> value
	if err := eachLine(*samplesPath, func(f []string) {
		if len(f) < 3 {
			return
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		if samples[f[1]] == nil {
			samples[f[1]] = map[string]float64{}
		}
		samples[f[1]][f[0]] = v
	}); err != nil {
		fail(err)
	}
	var figs []figure
	if err := eachLine(*figuresPath, func(f []string) {
		if len(f) < 6 {
			return
		}
		vals := samples[f[2]]
		if len(vals) == 0 {
			return
		}
		fg := figure{Name: f[0], Unit: f[1], RefName: f[3]}
		var vs, rs, ratios []float64
		reps := make([]string, 0, len(vals))
		for r := range vals {
			reps = append(reps, r)
		}
		slices.Sort(reps)
		for _, r := range reps {
			v := vals[r]
			vs = append(vs, v)
			var ref float64
			var ok bool
			if c, isConst := strings.CutPrefix(f[4], "="); isConst {
				ref, _ = strconv.ParseFloat(c, 64)
				ok = true
			} else if f[4] != "" && f[4] != "-" {
				ref, ok = samples[f[4]][r]
			}
			if !ok {
				continue
			}
			rs = append(rs, ref)
			if ref > 0 && v > 0 { // a ratio of signed figures (latency differences) means nothing
				if f[5] == "lower" {
					ratios = append(ratios, ref/v)
				} else {
					ratios = append(ratios, v/ref)
				}
			}
		}
		fg.Value, fg.Min, fg.Max = stats(vs)
		fg.Runs = len(vs)
		fg.ValuesRaw = vs
		if len(rs) > 0 {
			m, lo, hi := stats(rs)
			fg.RefValue, fg.RefMin, fg.RefMax, fg.RefRuns = &m, &lo, &hi, len(rs)
		}
		if len(ratios) > 0 {
			m, lo, hi := stats(ratios)
			fg.Ratio, fg.RatioMin, fg.RatioMax = &m, &lo, &hi
		}
		figs = append(figs, fg)
	}); err != nil {
		fail(err)
	}
	if *title != "" {
		fmt.Println(*title)
		fmt.Println()
	}
	fmt.Println("| figure | sluice: median [min–max] | unit | reference | reference: median [min–max] | ratio (higher is better) | runs |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, f := range figs {
		ref, ratio := "—", "—"
		if f.RefValue != nil {
			ref = fmt.Sprintf("%s [%s–%s]", num(*f.RefValue), num(*f.RefMin), num(*f.RefMax))
			if *f.RefMin == *f.RefMax {
				ref = num(*f.RefValue)
			}
		}
		if f.Ratio != nil {
			ratio = fmt.Sprintf("%.2f [%.2f–%.2f]", *f.Ratio, *f.RatioMin, *f.RatioMax)
		}
		fmt.Printf("| %s | %s [%s–%s] | %s | %s | %s | %s | %d |\n", f.Name, num(f.Value), num(f.Min), num(f.Max), f.Unit, f.RefName, ref, ratio, f.Runs)
	}
	if *out != "" {
		if figs == nil {
			figs = []figure{}
		}
		b, _ := json.MarshalIndent(figs, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			fail(err)
		}
	}
}

func stats(v []float64) (med, lo, hi float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0, 0, 0
	}
	if n%2 == 1 {
		med = s[n/2]
	} else {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func eachLine(path string, fn func([]string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fn(strings.Split(l, "\t"))
	}
	return sc.Err()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchreport:", err)
	os.Exit(1)
}
