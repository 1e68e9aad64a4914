package metrics

import (
	"strings"
	"testing"
)

func TestVerifyRendering(t *testing.T) {
	s := &Summary{PhaseOrder: []string{"baseline", "migrating", "after"}, Strategies: []StrategySummary{
		{Name: "plain"}, // ran without --verify: no rows
		{Name: "clean", Verify: &Verify{ReadsChecked: 10, WritesChecked: 5, Phases: map[string]VerifyPhase{
			"after": {ReadsChecked: 4, WritesChecked: 2}, "baseline": {ReadsChecked: 6, WritesChecked: 3},
		}}},
		{Name: "broken", Verify: &Verify{ReadsChecked: 9, StaleReads: 2, WritesChecked: 4, LostWrites: 1, UncheckedReads: 3,
			Phases: map[string]VerifyPhase{
				"migrating": {ReadsChecked: 9, StaleReads: 2, WritesChecked: 4},
				"preload":   {LostWrites: 1},
			},
			Examples: []string{"lost write: after the run cb:7 holds no value (key missing)"}}},
		{Name: "partial", Verify: &Verify{Phases: map[string]VerifyPhase{}, Error: "node down"}},
	}}
	if !s.HasVerify() || (&Summary{}).HasVerify() {
		t.Fatal("HasVerify wrong")
	}
	rows := verifyTable(s).rows
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r[0], r[1], r[6]}, " "))
	}
	want := []string{
		"clean baseline ", "clean after ", "clean total ok",
		"broken preload ", "broken migrating ", "broken total FAILED",
		"partial total incomplete",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var text, md strings.Builder
	if err := RenderVerifyTable(&text, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteVerifyMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{text.String(), md.String()} {
		for _, w := range []string{"lost writes", "broken: 3 reads not checked", "broken: lost write: after the run cb:7", "partial: final check incomplete: node down"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}
	if !strings.HasPrefix(md.String(), "\n## Verify") {
		t.Errorf("markdown section starts %q", md.String()[:20])
	}

	var none strings.Builder
	plain := &Summary{Strategies: []StrategySummary{{Name: "plain"}}}
	if err := RenderVerifyTable(&none, plain); err != nil || none.Len() != 0 {
		t.Errorf("without --verify: %q, %v", none.String(), err)
	}
	if err := WriteVerifyMarkdown(&none, plain); err != nil || none.Len() != 0 {
		t.Errorf("without --verify: %q, %v", none.String(), err)
	}
}
