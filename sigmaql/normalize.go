package sigmaql

// NormalizeEvtxEvent turns one decoded evtx-dump JSON event (`Event.System.*`,
// `Event.EventData.*`, XML attributes) into the flat field names Sigma rules use: EventData
// and System children by their own names, attributes as `<Element>_<Attr>` (Provider_Name),
// spaces stripped from names, other nested objects as dotted paths. Values are kept as
// decoded. A flat event is returned with only spaces stripped from its names.
func NormalizeEvtxEvent(obj map[string]any) map[string]any {
	panic("TODO")
}
