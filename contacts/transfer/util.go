package transfer

import (
	"slices"
	"strings"
)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func contains(list []string, v string) bool { return slices.Contains(list, v) }

func joinComma(s []string) string { return strings.Join(s, ",") }
