package config

import (
	"reflect"
	"sort"
)

// ChangedKeys returns the dotted keys ("output.fps", "webrtc.ice_servers") whose values differ
// between a and b, sorted; an empty and a missing list are the same. A reload uses it to name the
// changes it cannot apply without a restart.
func ChangedKeys(a, b Config) []string {
	fa, fb := flatten(a), flatten(b)
	var keys []string
	for key, va := range fa {
		vb := fb[key]
		if reflect.DeepEqual(va, vb) || emptyList(va) && emptyList(vb) {
			continue
		}
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

func emptyList(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Slice && rv.Len() == 0
}
