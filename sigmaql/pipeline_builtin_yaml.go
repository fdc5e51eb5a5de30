package sigmaql

// Built-in processing pipelines, written in the pipeline format itself (docs/sigma.md).
//
// sysmon: a windows category becomes its Sysmon EventID condition and the rule's
// logsource becomes service sysmon (as pySigma's sysmon pipeline does); the PowerShell
// categories become their PowerShell channel and event id.
// windows: a windows service becomes its event log Channel condition (pySigma's windows
// pipeline, services of the Sigma taxonomy appendix).
// The default for rules is sysmon combined with windows, so a process_creation rule gets
// Channel = 'Microsoft-Windows-Sysmon/Operational' AND EventID = 1.

const sysmonPipelineYAML = `name: sysmon
priority: 10
transformations:
  - id: sysmon_process_creation_eventid
    type: add_condition
    conditions:
      EventID: 1
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: sysmon_process_creation_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: sysmon_network_connection_eventid
    type: add_condition
    conditions:
      EventID: 3
    rule_conditions:
      - type: logsource
        product: windows
        category: network_connection
  - id: sysmon_network_connection_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: network_connection
  - id: sysmon_process_termination_eventid
    type: add_condition
    conditions:
      EventID: 5
    rule_conditions:
      - type: logsource
        product: windows
        category: process_termination
  - id: sysmon_process_termination_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: process_termination
  - id: sysmon_driver_load_eventid
    type: add_condition
    conditions:
      EventID: 6
    rule_conditions:
      - type: logsource
        product: windows
        category: driver_load
  - id: sysmon_driver_load_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: driver_load
  - id: sysmon_image_load_eventid
    type: add_condition
    conditions:
      EventID: 7
    rule_conditions:
      - type: logsource
        product: windows
        category: image_load
  - id: sysmon_image_load_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: image_load
  - id: sysmon_create_remote_thread_eventid
    type: add_condition
    conditions:
      EventID: 8
    rule_conditions:
      - type: logsource
        product: windows
        category: create_remote_thread
  - id: sysmon_create_remote_thread_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: create_remote_thread
  - id: sysmon_raw_access_thread_eventid
    type: add_condition
    conditions:
      EventID: 9
    rule_conditions:
      - type: logsource
        product: windows
        category: raw_access_thread
  - id: sysmon_raw_access_thread_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: raw_access_thread
  - id: sysmon_process_access_eventid
    type: add_condition
    conditions:
      EventID: 10
    rule_conditions:
      - type: logsource
        product: windows
        category: process_access
  - id: sysmon_process_access_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: process_access
  - id: sysmon_file_event_eventid
    type: add_condition
    conditions:
      EventID: 11
    rule_conditions:
      - type: logsource
        product: windows
        category: file_event
  - id: sysmon_file_event_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: file_event
  - id: sysmon_registry_add_eventid
    type: add_condition
    conditions:
      EventID: 12
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_add
  - id: sysmon_registry_add_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_add
  - id: sysmon_registry_delete_eventid
    type: add_condition
    conditions:
      EventID: 12
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_delete
  - id: sysmon_registry_delete_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_delete
  - id: sysmon_registry_set_eventid
    type: add_condition
    conditions:
      EventID: 13
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_set
  - id: sysmon_registry_set_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_set
  - id: sysmon_registry_rename_eventid
    type: add_condition
    conditions:
      EventID: 14
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_rename
  - id: sysmon_registry_rename_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_rename
  - id: sysmon_registry_event_eventid
    type: add_condition
    conditions:
      EventID: [12, 13, 14]
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_event
  - id: sysmon_registry_event_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: registry_event
  - id: sysmon_create_stream_hash_eventid
    type: add_condition
    conditions:
      EventID: 15
    rule_conditions:
      - type: logsource
        product: windows
        category: create_stream_hash
  - id: sysmon_create_stream_hash_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: create_stream_hash
  - id: sysmon_pipe_created_eventid
    type: add_condition
    conditions:
      EventID: [17, 18]
    rule_conditions:
      - type: logsource
        product: windows
        category: pipe_created
  - id: sysmon_pipe_created_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: pipe_created
  - id: sysmon_wmi_event_eventid
    type: add_condition
    conditions:
      EventID: [19, 20, 21]
    rule_conditions:
      - type: logsource
        product: windows
        category: wmi_event
  - id: sysmon_wmi_event_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: wmi_event
  - id: sysmon_dns_query_eventid
    type: add_condition
    conditions:
      EventID: 22
    rule_conditions:
      - type: logsource
        product: windows
        category: dns_query
  - id: sysmon_dns_query_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: dns_query
  - id: sysmon_file_delete_eventid
    type: add_condition
    conditions:
      EventID: [23, 26]
    rule_conditions:
      - type: logsource
        product: windows
        category: file_delete
  - id: sysmon_file_delete_logsource
    type: change_logsource
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
        category: file_delete
  - id: powershell_ps_script
    type: add_condition
    conditions:
      Channel: Microsoft-Windows-PowerShell/Operational
      EventID: 4104
    rule_conditions:
      - type: logsource
        product: windows
        category: ps_script
  - id: powershell_ps_module
    type: add_condition
    conditions:
      Channel: Microsoft-Windows-PowerShell/Operational
      EventID: 4103
    rule_conditions:
      - type: logsource
        product: windows
        category: ps_module
`

const windowsPipelineYAML = `name: windows
priority: 20
transformations:
  - id: windows_security_channel
    type: add_condition
    conditions:
      Channel: 'Security'
    rule_conditions:
      - type: logsource
        product: windows
        service: security
  - id: windows_system_channel
    type: add_condition
    conditions:
      Channel: 'System'
    rule_conditions:
      - type: logsource
        product: windows
        service: system
  - id: windows_application_channel
    type: add_condition
    conditions:
      Channel: 'Application'
    rule_conditions:
      - type: logsource
        product: windows
        service: application
  - id: windows_sysmon_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Sysmon/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: sysmon
  - id: windows_powershell_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-PowerShell/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: powershell
  - id: windows_powershell_classic_channel
    type: add_condition
    conditions:
      Channel: 'Windows PowerShell'
    rule_conditions:
      - type: logsource
        product: windows
        service: powershell-classic
  - id: windows_taskscheduler_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-TaskScheduler/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: taskscheduler
  - id: windows_wmi_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-WMI-Activity/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: wmi
  - id: windows_dns_server_channel
    type: add_condition
    conditions:
      Channel: 'DNS Server'
    rule_conditions:
      - type: logsource
        product: windows
        service: dns-server
  - id: windows_dns_server_analytic_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-DNS-Server/Analytical'
    rule_conditions:
      - type: logsource
        product: windows
        service: dns-server-analytic
  - id: windows_driver_framework_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-DriverFrameworks-UserMode/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: driver-framework
  - id: windows_ntlm_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-NTLM/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: ntlm
  - id: windows_dhcp_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-DHCP-Server/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: dhcp
  - id: windows_applocker_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-Windows-AppLocker/MSI and Script', 'Microsoft-Windows-AppLocker/EXE and DLL', 'Microsoft-Windows-AppLocker/Packaged app-Deployment', 'Microsoft-Windows-AppLocker/Packaged app-Execution']
    rule_conditions:
      - type: logsource
        product: windows
        service: applocker
  - id: windows_msexchange_management_channel
    type: add_condition
    conditions:
      Channel: 'MSExchange Management'
    rule_conditions:
      - type: logsource
        product: windows
        service: msexchange-management
  - id: windows_printservice_admin_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-PrintService/Admin'
    rule_conditions:
      - type: logsource
        product: windows
        service: printservice-admin
  - id: windows_printservice_operational_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-PrintService/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: printservice-operational
  - id: windows_smbclient_security_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-SmbClient/Security'
    rule_conditions:
      - type: logsource
        product: windows
        service: smbclient-security
  - id: windows_smbserver_connectivity_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-SMBServer/Connectivity'
    rule_conditions:
      - type: logsource
        product: windows
        service: smbserver-connectivity
  - id: windows_smbclient_connectivity_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-SmbClient/Connectivity'
    rule_conditions:
      - type: logsource
        product: windows
        service: smbclient-connectivity
  - id: windows_codeintegrity_operational_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-CodeIntegrity/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: codeintegrity-operational
  - id: windows_firewall_as_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Windows Firewall With Advanced Security/Firewall'
    rule_conditions:
      - type: logsource
        product: windows
        service: firewall-as
  - id: windows_bits_client_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Bits-Client/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: bits-client
  - id: windows_windefend_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Windows Defender/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: windefend
  - id: windows_terminalservices_localsessionmanager_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: terminalservices-localsessionmanager
  - id: windows_microsoft_servicebus_client_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-ServiceBus-Client'
    rule_conditions:
      - type: logsource
        product: windows
        service: microsoft-servicebus-client
  - id: windows_ldap_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-LDAP-Client/Debug'
    rule_conditions:
      - type: logsource
        product: windows
        service: ldap
  - id: windows_ldap_debug_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-LDAP-Client/Debug'
    rule_conditions:
      - type: logsource
        product: windows
        service: ldap_debug
  - id: windows_security_mitigations_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-Windows-Security-Mitigations/Kernel Mode', 'Microsoft-Windows-Security-Mitigations/User Mode']
    rule_conditions:
      - type: logsource
        product: windows
        service: security-mitigations
  - id: windows_diagnosis_scripted_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Diagnosis-Scripted/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: diagnosis-scripted
  - id: windows_shell_core_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Shell-Core/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: shell-core
  - id: windows_openssh_channel
    type: add_condition
    conditions:
      Channel: 'OpenSSH/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: openssh
  - id: windows_bitlocker_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-BitLocker/BitLocker Management'
    rule_conditions:
      - type: logsource
        product: windows
        service: bitlocker
  - id: windows_vhdmp_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-VHDMP/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: vhdmp
  - id: windows_appxdeployment_server_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-AppXDeploymentServer/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: appxdeployment-server
  - id: windows_lsa_server_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-LSA/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: lsa-server
  - id: windows_appxpackaging_om_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-AppxPackaging/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: appxpackaging-om
  - id: windows_dns_client_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-DNS Client Events/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: dns-client
  - id: windows_appmodel_runtime_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-AppModel-Runtime/Admin'
    rule_conditions:
      - type: logsource
        product: windows
        service: appmodel-runtime
  - id: windows_capi2_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-CAPI2/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: capi2
  - id: windows_certificateservicesclient_lifecycle_system_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: certificateservicesclient-lifecycle-system
  - id: windows_kernel_shimengine_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-Windows-Kernel-ShimEngine/Operational', 'Microsoft-Windows-Kernel-ShimEngine/Diagnostic']
    rule_conditions:
      - type: logsource
        product: windows
        service: kernel-shimengine
  - id: windows_iis_configuration_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-IIS-Configuration/Operational', 'Microsoft-IIS-Configuration/Administrative']
    rule_conditions:
      - type: logsource
        product: windows
        service: iis-configuration
  - id: windows_sysmon_operational_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Sysmon/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: sysmon-operational
  - id: windows_hyper_v_worker_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Hyper-V-Worker'
    rule_conditions:
      - type: logsource
        product: windows
        service: hyper-v-worker
  - id: windows_kernel_event_tracing_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-Windows-Kernel-EventTracing/Admin', 'Microsoft-Windows-Kernel-EventTracing/Analytic']
    rule_conditions:
      - type: logsource
        product: windows
        service: kernel-event-tracing
  - id: windows_ntfs_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-Ntfs/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: ntfs
  - id: windows_wmi_activity_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-WMI-Activity/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: wmi-activity
  - id: windows_sense_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-SENSE/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: sense
  - id: windows_appxdeployment_channel
    type: add_condition
    conditions:
      Channel: 'Microsoft-Windows-AppXDeployment/Operational'
    rule_conditions:
      - type: logsource
        product: windows
        service: appxdeployment
  - id: windows_application_experience_channel
    type: add_condition
    conditions:
      Channel: ['Microsoft-Windows-Application-Experience/Program-Telemetry', 'Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant']
    rule_conditions:
      - type: logsource
        product: windows
        service: application-experience
`
