"""Windows logsource tables: which Channel/EventID an event needs to belong to a Sigma logsource.

The tables follow pySigma's sysmon and windows_logsource pipelines so that our dispatch selects the
same events the reference (pySigma + SQLite) conversion selected.
"""

from __future__ import annotations

SYSMON_CHANNEL = "microsoft-windows-sysmon/operational"

# Sigma category -> Sysmon EventIDs.
SYSMON_CATEGORIES: dict[str, tuple[int, ...]] = {
    "process_creation": (1,),
    "file_change": (2,),
    "network_connection": (3,),
    "sysmon_status": (4, 16),
    "process_termination": (5,),
    "driver_load": (6,),
    "image_load": (7,),
    "create_remote_thread": (8,),
    "raw_access_thread": (9,),
    "process_access": (10,),
    "file_event": (11,),
    "registry_add": (12,),
    "registry_delete": (12,),
    "registry_set": (13,),
    "registry_rename": (14,),
    "registry_event": (12, 13, 14),
    "create_stream_hash": (15,),
    "pipe_created": (17, 18),
    "wmi_event": (19, 20, 21),
    "dns_query": (22,),
    "file_delete": (23, 26),
    "clipboard_capture": (24,),
    "process_tampering": (25,),
    "file_delete_detected": (26,),
    "file_block_executable": (27,),
    "file_block_shredding": (28,),
    "file_executable_detected": (29,),
    "sysmon_error": (255,),
}

# Categories served by other channels: category -> (channel, EventIDs or None for any).
OTHER_CATEGORIES: dict[str, tuple[str, tuple[int, ...] | None]] = {
    "ps_script": ("microsoft-windows-powershell/operational", (4104,)),
    "ps_module": ("microsoft-windows-powershell/operational", (4103,)),
    "ps_classic_start": ("windows powershell", (400,)),
    "ps_classic_provider_start": ("windows powershell", (600,)),
    "ps_classic_script": ("windows powershell", (800,)),
}

# Sigma service -> Channel (lower-cased), per pySigma's windows_logsource pipeline.
SERVICE_CHANNELS: dict[str, str] = {
    "security": "security",
    "application": "application",
    "system": "system",
    "sysmon": SYSMON_CHANNEL,
    "powershell": "microsoft-windows-powershell/operational",
    "powershell-classic": "windows powershell",
    "taskscheduler": "microsoft-windows-taskscheduler/operational",
    "wmi": "microsoft-windows-wmi-activity/operational",
    "dns-server": "dns server",
    "dns-server-analytic": "microsoft-windows-dns-server/analytical",
    "driver-framework": "microsoft-windows-driverframeworks-usermode/operational",
    "ntlm": "microsoft-windows-ntlm/operational",
    "dhcp": "microsoft-windows-dhcp-server/operational",
    "windefend": "microsoft-windows-windows defender/operational",
    "applocker": "microsoft-windows-applocker/exe and dll",
    "msexchange-management": "msexchange management",
    "printservice-admin": "microsoft-windows-printservice/admin",
    "printservice-operational": "microsoft-windows-printservice/operational",
    "smbclient-security": "microsoft-windows-smbclient/security",
    "smbclient-connectivity": "microsoft-windows-smbclient/connectivity",
    "codeintegrity-operational": "microsoft-windows-codeintegrity/operational",
    "firewall-as": "microsoft-windows-windows firewall with advanced security/firewall",
    "bits-client": "microsoft-windows-bits-client/operational",
    "security-mitigations": "microsoft-windows-security-mitigations/kernel mode",
    "diagnosis-scripted": "microsoft-windows-diagnosis-scripted/operational",
    "shell-core": "microsoft-windows-shell-core/operational",
    "openssh": "openssh/operational",
    "ldap": "microsoft-windows-ldap-client/debug",
    "lsa-server": "microsoft-windows-lsa/operational",
    "appmodel-runtime": "microsoft-windows-appmodel-runtime/admin",
    "capi2": "microsoft-windows-capi2/operational",
    "certificateservicesclient-lifecycle-system": (
        "microsoft-windows-certificateservicesclient-lifecycle-system/operational"
    ),
    "pim": "microsoft-windows-pim/operational",
    "terminalservices-localsessionmanager": (
        "microsoft-windows-terminalservices-localsessionmanager/operational"
    ),
    "appxdeployment-server": "microsoft-windows-appxdeploymentserver/operational",
    "appxpackaging-om": (
        "microsoft-windows-appxpackagingom/microsoft-windows-appxpackaging/operational"
    ),
    "hyper-v-worker": "microsoft-windows-hyper-v-worker",
    "kernel-shimengine": "microsoft-windows-kernel-shimengine/operational",
    "vhdmp": "microsoft-windows-vhdmp/operational",
    "iis-configuration": "microsoft-iis-configuration/operational",
    "sense": "microsoft-windows-sense/operational",
    "bitlocker": "microsoft-windows-bitlocker/bitlocker management",
    "microsoft-servicebus-client": "microsoft-servicebus-client",
}


def _invert() -> dict[tuple[str, int | None], tuple[str, ...]]:
    """(channel, EventID) -> categories; EventID None means 'any EventID of the channel'."""
    out: dict[tuple[str, int | None], list[str]] = {}
    for cat, ids in SYSMON_CATEGORIES.items():
        for i in ids:
            out.setdefault((SYSMON_CHANNEL, i), []).append(cat)
    for cat, (chan, oids) in OTHER_CATEGORIES.items():
        for oi in oids or (None,):
            out.setdefault((chan, oi), []).append(cat)
    return {k: tuple(v) for k, v in out.items()}


CATEGORIES_BY_EVENT = _invert()
SERVICES_BY_CHANNEL: dict[str, tuple[str, ...]] = {}
for _svc, _chan in SERVICE_CHANNELS.items():
    SERVICES_BY_CHANNEL[_chan] = (*SERVICES_BY_CHANNEL.get(_chan, ()), _svc)


def windows_logsources(channel: str, event_id: int | None) -> list[tuple[str | None, str | None]]:
    """(category, service) pairs an event with this channel (lower-cased) and EventID belongs to."""
    cats = CATEGORIES_BY_EVENT.get((channel, event_id), ()) + CATEGORIES_BY_EVENT.get(
        (channel, None), ()
    )
    svcs = SERVICES_BY_CHANNEL.get(channel, ())
    pairs: list[tuple[str | None, str | None]] = [(None, None)]
    pairs += [(c, None) for c in cats]
    pairs += [(None, s) for s in svcs]
    pairs += [(c, s) for c in cats for s in svcs]
    return pairs
