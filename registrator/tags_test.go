package registrator

import (
	"reflect"
	"strings"
	"testing"
)

func TestTagsTemplate(t *testing.T) {
	c := labels(ctr("web1", "team/shop:v2", "80/tcp=1"), "team=blue")
	tests := []struct {
		tmpl string
		want []string
		note string
	}{
		{tmpl: `{{.Name}},{{mIndex "team" .Labels}}`, want: []string{"web1", "blue"}},
		{tmpl: `{{toUpper .Image}}`, want: []string{"TEAM/SHOP:V2"}},
		{tmpl: `{{splitIndex -1 ":" .Image}},{{splitIndex 9 "/" .Image}},{{splitIndex -9 "/" .Image}}`, want: []string{"v2", "shop:v2", "team"}},
		{tmpl: `{{strSlice .Name 0 3}},{{strSlice .Name 3}},{{strSlice .Name 2 1}},{{strSlice .Name 9}}`, want: []string{"web", "1", "b1", "web1"}},
		{tmpl: `{{sIndex 0 .ExposedPorts}},{{sIndex -1 .ExposedPorts}},{{sIndex 0 .Env}}`, want: []string{"80/tcp", "80/tcp"}},
		{tmpl: `{{replace 1 "b" "B" .Name}},{{toLower "X"}}`, want: []string{"weB1", "x"}},
		{tmpl: `{{join "," (split "/" .Image)}}`, want: []string{"team", "shop:v2"}},
		{tmpl: `{{matchFirstElement "^team" (split "/" .Image)}},{{join ";" (matchAllElements "." (split "/" .Image))}}`, want: []string{"team", "team;shop:v2"}},
		{tmpl: `{{.NoSuchField}}`, note: "-tags template failed"},
		{tmpl: `{{matchFirstElement "(" .Env}}`, note: "-tags template failed"},
	}
	for _, tt := range tests {
		tpl, err := ParseTagsTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tt.tmpl, err)
		}
		opts := baseOpts
		opts.TagsTemplate = tpl
		got, skips := ServicesFor(c, opts)
		if len(got) != 1 {
			t.Fatalf("%s: %d services", tt.tmpl, len(got))
		}
		if !reflect.DeepEqual(got[0].Tags, tt.want) {
			t.Errorf("%s: tags %q, want %q", tt.tmpl, got[0].Tags, tt.want)
		}
		var notes []string
		for _, s := range skips {
			notes = append(notes, s.Reason)
		}
		if joined := strings.Join(notes, "; "); tt.note != "" && !strings.Contains(joined, tt.note) || tt.note == "" && joined != "" {
			t.Errorf("%s: notes %q, want %q", tt.tmpl, joined, tt.note)
		}
	}
	if _, err := ParseTagsTemplate("{{.Name"); err == nil {
		t.Errorf("a broken template must not parse")
	}
}
