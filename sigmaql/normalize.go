package sigmaql

import (
	"slices"
	"strings"
)

// NormalizeEvtxEvent turns one decoded evtx-dump JSON event (`Event.System.*`,
// `Event.EventData.*`, XML attributes) into the flat field names Sigma rules use: EventData
// and System children by their own names, attributes as `<Element>_<Attr>` (Provider_Name),
// spaces stripped from names, other nested objects as dotted paths. Values are kept as
// decoded. A flat event is returned with only spaces stripped from its names.
//
// Details (docs/sigma.md, "Event normalisation"):
//   - An event is evtx-shaped when it has a key "Event" whose value is an object; every
//     other event is "flat": its names lose their spaces, and nested objects in it become
//     dotted paths (`a.b.c`); lists and scalars are kept.
//   - Attributes are read from `#attributes` objects (evtx_dump) and from `@`-prefixed keys
//     (xmltodict). `xmlns` attributes are dropped: they name XML schemas, not event data.
//   - An element with `#text` and attributes gives `<Element>` = text plus
//     `<Element>_<Attr>` per attribute.
//   - Children of System, EventData and of the single element inside UserData keep their own
//     names; RenderingInfo and any other section of Event become dotted paths
//     (`RenderingInfo.Message`).
//   - Unnamed `Data` elements in the XML form (`Data: [{"@Name": "X", "#text": "v"}]`) become
//     `X: v`; a list of plain values stays under `Data`.
//   - On a name collision the first writer wins (System before EventData before UserData) and
//     the later value is kept under its dotted path (`EventData.Channel`), so nothing is lost.
func NormalizeEvtxEvent(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := make(map[string]any, len(obj)+16)
	ev, ok := obj["Event"].(map[string]any)
	if !ok {
		for k, v := range obj {
			flattenDotted(out, stripSpaces(k), v)
		}
		return out
	}
	// System, EventData, UserData first, in this order, so that collisions resolve the same
	// way on every run (map iteration order is random).
	n := &normalizer{out: out}
	if sys, ok := ev["System"].(map[string]any); ok {
		n.children("System", sys)
	} else if v, ok := ev["System"]; ok {
		n.put("System", "System", v)
	}
	if ed, ok := ev["EventData"]; ok {
		n.section("EventData", ed)
	}
	if ud, ok := ev["UserData"].(map[string]any); ok {
		// UserData holds one provider-specific wrapper element whose children are the data.
		for _, k := range sortedKeys(ud) {
			if isAttrKey(k) {
				continue
			}
			if inner, ok := ud[k].(map[string]any); ok {
				n.children("UserData."+stripSpaces(k), inner)
			} else {
				n.put(stripSpaces(k), "UserData."+stripSpaces(k), ud[k])
			}
		}
	} else if v, ok := ev["UserData"]; ok {
		n.put("UserData", "UserData", v)
	}
	for _, k := range sortedKeys(ev) {
		switch k {
		case "System", "EventData", "UserData":
			continue
		}
		if isAttrKey(k) {
			n.attrs("Event", ev, k)
			continue
		}
		flattenDotted(out, stripSpaces(k), ev[k])
	}
	return out
}

// normalizer writes flattened evtx fields into out, first writer wins.
type normalizer struct {
	out map[string]any
}

// put stores v under name, or under dotted (the element's full path) if name is taken.
func (n *normalizer) put(name, dotted string, v any) {
	if _, taken := n.out[name]; !taken {
		n.out[name] = v
		return
	}
	if _, taken := n.out[dotted]; !taken {
		n.out[dotted] = v
	}
}

// section flattens EventData, which may be an object of named fields, a list of Data
// elements, or a plain value.
func (n *normalizer) section(path string, v any) {
	switch t := v.(type) {
	case map[string]any:
		n.children(path, t)
	case nil:
		// <EventData/> carries no fields.
	default:
		n.put(path, path, v)
	}
}

// children stores every child of the element at path by its own name (spaces stripped).
func (n *normalizer) children(path string, m map[string]any) {
	for _, k := range sortedKeys(m) {
		if isAttrKey(k) {
			n.attrs(lastSegment(path), m, k)
			continue
		}
		name := stripSpaces(k)
		if name == "#text" {
			n.put(lastSegment(path), path, m[k])
			continue
		}
		n.element(name, path+"."+name, m[k])
	}
}

// element stores one named element: a scalar as is; an object with attributes and #text as
// name = text plus name_attr; a list of named Data elements as their names; any other
// object as dotted paths below name.
func (n *normalizer) element(name, dotted string, v any) {
	switch t := v.(type) {
	case map[string]any:
		simple := true
		for k := range t {
			if !isAttrKey(k) && k != "#text" {
				simple = false
			}
		}
		if !simple {
			// A nested element: dotted below its name, attributes as name_attr.
			for _, k := range sortedKeys(t) {
				if isAttrKey(k) {
					n.attrs(name, t, k)
					continue
				}
				if k == "#text" {
					n.put(name, dotted, t[k])
					continue
				}
				sub := stripSpaces(k)
				n.element(name+"."+sub, dotted+"."+sub, t[k])
			}
			return
		}
		if name == "Data" {
			// <Data Name="X">v</Data> as a single object.
			if dn, ok := dataName(t); ok {
				n.put(dn, dotted, t["#text"])
				return
			}
		}
		for _, k := range sortedKeys(t) {
			if isAttrKey(k) {
				n.attrs(name, t, k)
			}
		}
		if text, ok := t["#text"]; ok {
			n.put(name, dotted, text)
		}
	case []any:
		if name == "Data" && allNamedData(t) {
			for _, e := range t {
				m := e.(map[string]any)
				dn, _ := dataName(m)
				n.put(dn, dotted+"."+dn, m["#text"])
			}
			return
		}
		n.put(name, dotted, v)
	default:
		n.put(name, dotted, v)
	}
}

// attrs stores the attributes found under key k of m (either a "#attributes" object or one
// "@attr" key) as elem_attr, skipping xmlns declarations.
func (n *normalizer) attrs(elem string, m map[string]any, k string) {
	if k == "#attributes" {
		am, ok := m[k].(map[string]any)
		if !ok {
			return
		}
		for _, a := range sortedKeys(am) {
			if isXMLNS(a) {
				continue
			}
			name := elem + "_" + stripSpaces(a)
			n.put(name, name, am[a])
		}
		return
	}
	a := strings.TrimPrefix(k, "@")
	if isXMLNS(a) {
		return
	}
	name := elem + "_" + stripSpaces(a)
	n.put(name, name, m[k])
}

// dataName returns the Name attribute of a <Data> element in either attribute notation.
func dataName(m map[string]any) (string, bool) {
	if am, ok := m["#attributes"].(map[string]any); ok {
		if s, ok := am["Name"].(string); ok && s != "" {
			return stripSpaces(s), true
		}
	}
	if s, ok := m["@Name"].(string); ok && s != "" {
		return stripSpaces(s), true
	}
	return "", false
}

// allNamedData reports whether every element of l is a <Data Name="..."> object.
func allNamedData(l []any) bool {
	if len(l) == 0 {
		return false
	}
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := dataName(m); !ok {
			return false
		}
	}
	return true
}

// flattenDotted stores v under name, nested objects as name.child recursively.
func flattenDotted(out map[string]any, name string, v any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		if _, taken := out[name]; !taken {
			out[name] = v
		}
		return
	}
	for _, k := range sortedKeys(m) {
		flattenDotted(out, name+"."+stripSpaces(k), m[k])
	}
}

func isAttrKey(k string) bool { return k == "#attributes" || strings.HasPrefix(k, "@") }

func isXMLNS(a string) bool { return a == "xmlns" || strings.HasPrefix(a, "xmlns:") }

func lastSegment(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// stripSpaces removes spaces from a field name (`Source Name` → `SourceName`), as Sigma
// field names never contain them.
func stripSpaces(s string) string {
	if !strings.Contains(s, " ") {
		return s
	}
	return strings.ReplaceAll(s, " ", "")
}

// sortedKeys returns m's keys in lexical order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
