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

// Modifiers of Sigma v2.1 added by the complete-language slice.
const (
	modNeq          = "neq"
	modExpand       = "expand"
	modFieldRef     = "fieldref"
	modBase64       = "base64"
	modBase64Offset = "base64offset"
	modWide         = "wide"
	modUTF16LE      = "utf16le"
	modUTF16BE      = "utf16be"
	modUTF16        = "utf16"
)

// encodingModifiers transform a value's bytes before the position modifier applies.
var encodingModifiers = map[string]bool{
	modBase64: true, modBase64Offset: true, modWide: true, modUTF16LE: true, modUTF16BE: true, modUTF16: true,
}

// timeParts are the v2.1 modifiers that compare one part of a timestamp field.
var timeParts = map[string]bool{
	"minute": true, "hour": true, "day": true, "week": true, "month": true, "year": true,
}

// supportedModifierList is quoted in the diagnostic for an unknown modifier.
const supportedModifierList = "contains, startswith, endswith, all, re (i, m, s), cased, exists, " +
	"lt, lte, gt, gte, cidr, windash, base64, base64offset, wide, utf16le, utf16be, utf16, " +
	"fieldref, expand, neq, minute, hour, day, week, month, year"

// maxValueVariants bounds how many variants one value may expand into through windash,
// base64offset and placeholders together; each variant is one leaf of the Program.
const maxValueVariants = 4096

// windashChars are the five spellings of a command-line flag dash that 'windash' expands
// each flag position into (pySigma: '-', '/', en dash, em dash, horizontal bar).
var windashChars = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

// maxWindashVariants bounds the 5^n expansion of one value; a value with more flag
// positions than this allows is rejected rather than expanded into millions of patterns.
const maxWindashVariants = 5 * 5 * 5 * 5 * 5 * 5

// bitmapWordBits is the number of rows per bitmap word ([]uint64 bitmaps).
const bitmapWordBits = 64
