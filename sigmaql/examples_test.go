package sigmaql

import (
	"context"
	"strings"
	"testing"
)

// TestExamplesFire checks that each example rule matches the attack recording it was
// written for, and nothing it was not.
func TestExamplesFire(t *testing.T) {
	rs := mustLoadExamples(t)
	if len(rs.Rules) < 10 {
		t.Fatalf("got %d example rules; want at least 10", len(rs.Rules))
	}
	fired := map[string]bool{}
	f := func(recording, ruleFile string) {
		t.Helper()
		b := mustLoadOTRF(t, recording)
		p, err := rs.Compile(b.rec.Schema())
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		ms, err := p.Eval(context.Background(), b.rec)
		if err != nil {
			t.Fatalf("eval %s: %v", recording, err)
		}
		got := map[string]int{}
		for _, m := range ms {
			got[p.Rules()[m.Rule].File]++
		}
		if got[ruleFile] == 0 {
			t.Errorf("%s: rule %s did not fire; fired: %v", recording, ruleFile, got)
		}
		fired[ruleFile] = true
	}
	f("proxylogon_ssrf_rce_poc.zip", "proc_creation_whoami.yml")
	f("psh_lsass_memory_dump_comsvcs.zip", "proc_access_lsass_suspicious_access.yml")
	f("psh_lsass_memory_dump_comsvcs.zip", "proc_creation_comsvcs_minidump.yml")
	f("empire_schtasks_creation_standard_user.zip", "proc_creation_schtasks_create.yml")
	f("cmd_bitsadmin_download_psh_script.zip", "proc_creation_bitsadmin_transfer.yml")
	f("empire_ninjacopy_dumping_ntds_dit_file.zip", "proc_creation_powershell_encoded_command.yml")
	f("psh_hh_local_html_payload.zip", "proc_creation_hh_chm_execution.yml")
	f("wmic_remote_xsl_jscript.zip", "proc_creation_wmic_xsl_format.yml")
	f("reg_disable_eventlog_service_startuptype_modification_via_registry.zip", "registry_event_disable_eventlog.yml")
	f("psh_stop_event_logging_controlset_minint_key.zip", "registry_event_disable_eventlog.yml")
	f("cmd_psexec_lsa_secrets_dump.zip", "proc_creation_reg_save_hive.yml")
	f("psh_mavinject_dll_notepad.zip", "create_remote_thread_injection.yml")
	f("empire_psinject_PEinjection.zip", "create_remote_thread_injection.yml")
	for _, r := range rs.Rules {
		if !fired[r.File] {
			t.Errorf("example rule %s is not exercised by any recording", r.File)
		}
		if r.Author != "sigmaflight" || r.ID == "" || r.Level == "" || len(r.Tags) == 0 ||
			!strings.EqualFold(r.Logsource.Product, "windows") || r.Logsource.Category == "" {
			t.Errorf("example rule %s lacks metadata: %+v", r.File, r)
		}
	}
}
