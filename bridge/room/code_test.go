package room

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		errHas   string // substring of the error; "" means success
	}{
		{in: "ABC234", want: "ABC234"},
		{in: "abc234", want: "ABC234"},
		{in: "zZ9yY2", want: "ZZ9YY2"},
		{in: "ABC12", errHas: "has 5 characters, want 6"},
		{in: "ABC2345", errHas: "has 7 characters"},
		{in: "", errHas: "has 0 characters"},
		{in: "ABCO23", errHas: `character 4 ('O')`},
		{in: "ABC023", errHas: `character 4 ('0')`},
		{in: "abci23", errHas: `character 4 ('I')`},
		{in: "AB1C23", errHas: `character 3 ('1')`},
		{in: "AB C23", errHas: `character 3 (' ')`},
		{in: "ABCDÉ2", errHas: `character 5 ('É')`},
		{in: "ABC-23", errHas: `character 4 ('-')`},
	} {
		got, err := ParseCode(tc.in)
		if tc.errHas == "" {
			if err != nil || string(got) != tc.want {
				t.Errorf("ParseCode(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidCode) || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("ParseCode(%q) error = %v; want ErrInvalidCode mentioning %q", tc.in, err, tc.errHas)
		}
	}
}

func TestCodeTopic(t *testing.T) {
	c, err := ParseCode("xyz789")
	if err != nil {
		t.Fatal(err)
	}
	if c.Topic() != "realtime:XYZ789" || c.String() != "XYZ789" {
		t.Errorf("Topic/String = %q/%q", c.Topic(), c.String())
	}
}

func ExampleParseCode() {
	code, err := ParseCode("abc234")
	fmt.Println(code.Topic(), err)
	_, err = ParseCode("ABCO23")
	fmt.Println(err)
	// Output:
	// realtime:ABC234 <nil>
	// room code "ABCO23": character 4 ('O') is not allowed (use ABCDEFGHJKLMNPQRSTUVWXYZ23456789; 0/O and 1/I are excluded): invalid room code
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"ABC234", "abc234", "ABCO23", "", "ÉÉÉÉÉÉ", "ABCDEFG", "\x00\xff\xfe234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("error %v does not wrap ErrInvalidCode", err)
			}
			return
		}
		if len(c) != CodeLength || strings.Trim(string(c), CodeAlphabet) != "" {
			t.Fatalf("accepted %q as %q", s, c)
		}
		if again, err := ParseCode(string(c)); err != nil || again != c {
			t.Fatalf("re-parse of %q = %q, %v", c, again, err)
		}
	})
}
