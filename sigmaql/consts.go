package sigmaql

// Modifier names accepted by this slice. Every other name is rejected with a diagnostic:
// silently ignoring a modifier changes a rule's meaning (SIGMA.md §3.5 item 3).
const (
	modContains   = "contains"
	modStartswith = "startswith"
	modEndswith   = "endswith"
	modAll        = "all"
	modRe         = "re"
	modCased      = "cased"
	modExists     = "exists"
	modLt         = "lt"
	modLte        = "lte"
	modGt         = "gt"
	modGte        = "gte"
	modCIDR       = "cidr"
	modWindash    = "windash"
)

// reFlags maps the regular-expression flag modifiers (and their long aliases) to Go RE2
// inline flags. They are only valid after 're'.
var reFlags = map[string]string{
	"i": "i", "ignorecase": "i",
	"m": "m", "multiline": "m",
	"s": "s", "dotall": "s",
}

// notYetModifiers are modifiers of Sigma v2.1 that this slice recognises but does not
// implement; a rule using one does not load.
var notYetModifiers = map[string]bool{
	"base64": true, "base64offset": true, "wide": true, "utf16le": true,
	"utf16be": true, "utf16": true, "fieldref": true, "expand": true, "neq": true,
	"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true,
}

// windashChars are the five spellings of a command-line flag dash that 'windash' expands
// each flag position into (pySigma: '-', '/', en dash, em dash, horizontal bar).
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxWindashVariants bounds the 5^n expansion of one value; a value with more flag
// positions than this allows is rejected rather than expanded into millions of patterns.
const maxWindashVariants = 5 * 5 * 5 * 5 * 5 * 5

// bitmapWordBits is the number of rows per bitmap word ([]uint64 bitmaps).
const bitmapWordBits = 64
