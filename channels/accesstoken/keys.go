package accesstoken

// Both keys of one app share a hash tag, though no script touches both.
func tokenKey(name string) string { return "{token:" + name + "}" }

func lockKey(name string) string { return "{token:" + name + "}:refresh" }
