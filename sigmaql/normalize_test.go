package sigmaql

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestNormalizeEvtxEvent(t *testing.T) {
	f := func(in string, want map[string]any) {
		t.Helper()
		var obj map[string]any
		if err := json.Unmarshal([]byte(in), &obj); err != nil {
			t.Fatalf("bad test input %s: %v", in, err)
		}
		got := NormalizeEvtxEvent(obj)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("NormalizeEvtxEvent(%s):\n got %v\nwant %v", in, got, want)
		}
	}
	// The evtx_dump shape of the SigmaHQ regression data.
	f(`{"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
	  "System": {"Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "5770"}},
	    "EventID": 7, "Correlation": null,
	    "TimeCreated": {"#attributes": {"SystemTime": "2025-11-27T07:40:10.165324Z"}},
	    "Execution": {"#attributes": {"ProcessID": 3544, "ThreadID": 4272}},
	    "Channel": "Microsoft-Windows-Sysmon/Operational",
	    "Security": {"#attributes": {"UserID": "S-1-5-18"}}},
	  "EventData": {"Image": "C:\\x.exe", "Source Name": "a", "ProcessId": 4460}}}`,
		map[string]any{
			"Provider_Name": "Microsoft-Windows-Sysmon", "Provider_Guid": "5770",
			"EventID": 7.0, "Correlation": nil,
			"TimeCreated_SystemTime": "2025-11-27T07:40:10.165324Z",
			"Execution_ProcessID":    3544.0, "Execution_ThreadID": 4272.0,
			"Channel":         "Microsoft-Windows-Sysmon/Operational",
			"Security_UserID": "S-1-5-18",
			"Image":           `C:\x.exe`, "SourceName": "a", "ProcessId": 4460.0,
		})
	// Attributes on EventData itself (TaskScheduler), and EventID with a qualifier.
	f(`{"Event": {"System": {"EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045}},
	  "EventData": {"#attributes": {"Name": "TaskDisabled"}, "TaskName": "\\SR"}}}`,
		map[string]any{"EventID": 7045.0, "EventID_Qualifiers": 16384.0,
			"EventData_Name": "TaskDisabled", "TaskName": `\SR`})
	// UserData: children of its wrapper element by their own names.
	f(`{"Event": {"System": {"EventID": 1},
	  "UserData": {"Operation_ClientFailure": {"#attributes": {"xmlns": "x"}, "User": "u", "Id": "{1}"}}}}`,
		map[string]any{"EventID": 1.0, "User": "u", "Id": "{1}"})
	// xmltodict notation with unnamed Data elements and @ attributes.
	f(`{"Event": {"System": {"Provider": {"@Name": "P"}},
	  "EventData": {"Data": [{"@Name": "SubjectUserName", "#text": "bob"}, {"@Name": "Logon Type", "#text": "3"}]}}}`,
		map[string]any{"Provider_Name": "P", "SubjectUserName": "bob", "LogonType": "3"})
	// A list of unnamed data values stays under Data; collisions keep the first writer and
	// store the later value under its dotted path; other sections are dotted.
	f(`{"Event": {"System": {"Channel": "Security"},
	  "EventData": {"Data": ["a", "b"], "Channel": "other"},
	  "RenderingInfo": {"Message": "m", "Culture Name": "en"}}}`,
		map[string]any{"Channel": "Security", "Data": []any{"a", "b"}, "EventData.Channel": "other",
			"RenderingInfo.Message": "m", "RenderingInfo.CultureName": "en"})
	// Nested element with children inside EventData: dotted below its name.
	f(`{"Event": {"EventData": {"Obj": {"A": 1, "B": {"C": "x"}}}}}`,
		map[string]any{"Obj.A": 1.0, "Obj.B.C": "x"})
	// Flat events: spaces stripped, nested objects dotted, lists kept.
	f(`{"Source Name": "s", "EventID": 4688, "props": {"message": "m", "x y": {"z": true}}, "l": [1]}`,
		map[string]any{"SourceName": "s", "EventID": 4688.0, "props.message": "m", "props.xy.z": true, "l": []any{1.0}})
	f(`{}`, map[string]any{})
	if NormalizeEvtxEvent(nil) != nil {
		t.Fatalf("NormalizeEvtxEvent(nil): got non-nil; want nil")
	}
}
