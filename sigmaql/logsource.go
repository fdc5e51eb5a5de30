package sigmaql

import (
	"strconv"
	"strings"
)

// Built-in logsource routing (a stand-in for pySigma-style processing pipelines): for
// product windows, a category maps to a channel and event ids, a service to a channel.
// The resulting items are ANDed with the rule's condition in both evaluators, and they
// are ordinary preds, so every rule of a category shares the same leaves.
const (
	channelSysmon     = "Microsoft-Windows-Sysmon/Operational"
	channelPowerShell = "Microsoft-Windows-PowerShell/Operational"
)

type logsourceRoute struct {
	channel  string
	eventIDs []int64
}

// windowsCategories maps a windows category to its Sysmon (or PowerShell) events.
var windowsCategories = map[string]logsourceRoute{
	"process_creation":     {channelSysmon, []int64{1}},
	"network_connection":   {channelSysmon, []int64{3}},
	"process_termination":  {channelSysmon, []int64{5}},
	"driver_load":          {channelSysmon, []int64{6}},
	"image_load":           {channelSysmon, []int64{7}},
	"create_remote_thread": {channelSysmon, []int64{8}},
	"raw_access_thread":    {channelSysmon, []int64{9}},
	"process_access":       {channelSysmon, []int64{10}},
	"file_event":           {channelSysmon, []int64{11}},
	"registry_add":         {channelSysmon, []int64{12}},
	"registry_delete":      {channelSysmon, []int64{12}},
	"registry_set":         {channelSysmon, []int64{13}},
	"registry_rename":      {channelSysmon, []int64{14}},
	"registry_event":       {channelSysmon, []int64{12, 13, 14}},
	"create_stream_hash":   {channelSysmon, []int64{15}},
	"pipe_created":         {channelSysmon, []int64{17, 18}},
	"wmi_event":            {channelSysmon, []int64{19, 20, 21}},
	"dns_query":            {channelSysmon, []int64{22}},
	"file_delete":          {channelSysmon, []int64{23, 26}},
	"ps_script":            {channelPowerShell, []int64{4104}},
	"ps_module":            {channelPowerShell, []int64{4103}},
}

// windowsServices maps a windows service to its event log channel.
var windowsServices = map[string]string{
	"security":      "Security",
	"system":        "System",
	"application":   "Application",
	"sysmon":        channelSysmon,
	"powershell":    channelPowerShell,
	"windefend":     "Microsoft-Windows-Windows Defender/Operational",
	"taskscheduler": "Microsoft-Windows-TaskScheduler/Operational",
}

// LogsourceCondition describes the routing condition added to rules of ls, for EXPLAIN
// and documentation, e.g. "Channel = 'Security'"; it is empty when ls is unmapped.
func LogsourceCondition(ls Logsource) string {
	items := logsourceItems(ls)
	var parts []string
	lit := func(p *pred) string {
		if p.kind == predNum {
			return p.text
		}
		return "'" + p.text + "'"
	}
	for _, it := range items {
		if len(it.values) == 1 {
			parts = append(parts, it.field+" = "+lit(it.values[0][0]))
			continue
		}
		var vs []string
		for _, v := range it.values {
			vs = append(vs, lit(v[0]))
		}
		parts = append(parts, it.field+" IN ("+strings.Join(vs, ", ")+")")
	}
	return strings.Join(parts, " AND ")
}

// logsourceItems returns the items (AND) that route rules of ls to their events.
func logsourceItems(ls Logsource) []*item {
	if !strings.EqualFold(ls.Product, "windows") {
		return nil
	}
	var channel string
	var ids []int64
	if r, ok := windowsCategories[strings.ToLower(ls.Category)]; ok {
		channel, ids = r.channel, r.eventIDs
	} else if c, ok := windowsServices[strings.ToLower(ls.Service)]; ok {
		channel = c
	} else {
		return nil
	}
	chPred := &pred{kind: predGlob, glob: normGlob(parseGlob(channel), true), text: channel}
	chPred.makeKey()
	items := []*item{{field: "Channel", values: [][]*pred{{chPred}}}}
	if len(ids) > 0 {
		it := &item{field: "EventID"}
		for _, id := range ids {
			p := &pred{kind: predNum, isInt: true, i: id, f: float64(id), text: strconv.FormatInt(id, 10)}
			p.makeKey()
			it.values = append(it.values, []*pred{p})
		}
		items = append(items, it)
	}
	return items
}
