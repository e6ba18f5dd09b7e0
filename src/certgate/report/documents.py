"""The shape of every JSON document the commands print, as TypedDicts: the builders in
``report/`` return them, so mypy checks each key and value type where the document is made.

Each top-level type matches the checked-in schema ``docs/schemas/<name>-<version>.json``
(``tests/test_json_typed.py`` keeps the two in step: the same keys, the same required keys,
the same value types, all the way down). Change both together.

Names: a whole document is ``<Command>Document``; a part of one is ``<What>Json`` (``SiteJson``
is the JSON of ``core.iis.Site``), so no name here shadows the value it is made from.

Only ``typing`` here: ``certgate explain --json`` loads this without cryptography.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "AuditDocument",
    "CertDetailJson",
    "CertRefJson",
    "DoctorDocument",
    "ExplainDocument",
    "ExplainListDocument",
    "LogsDocument",
    "MachineDocument",
    "ProbeDocument",
    "SettingOriginJson",
    "VerifyDocument",
]


# -- shared ---------------------------------------------------------------------------------


class SettingOriginJson(TypedDict):
    """A setting and where it came from (``certgate.inputs.provenance``)."""

    name: str
    value: str
    source: str  # file:line, file#element, a flag, "policy [trust]" or "default"


class CertRefJson(TypedDict):
    """The short reference findings use: enough to find the certificate in certlm.msc."""

    sha1: str
    subject: str
    issuer: str


class CertDetailJson(CertRefJson):
    sha256: str
    serial: str
    self_signed: bool
    self_signed_status: str
    ca: bool | None
    path_length: int | None
    not_before: str
    not_after: str
    key: str
    signature_algorithm: str
    source: str
    friendly_name: str | None
    parse_issues: list[str]


class StoredCertDetailJson(CertDetailJson):
    store: str


class BucketJson(TypedDict):
    start: str
    count: int


# -- certgate.audit/1 -----------------------------------------------------------------------


class StoreCountJson(TypedDict):
    name: str
    count: int


class AuditListedJson(TypedDict):
    sha1: str | None
    subject: str | None
    issuer: str | None
    store: str
    not_before: str | None
    not_after: str | None
    source: str
    listed: bool


class ListedRefJson(TypedDict):
    sha1: str | None
    subject: str | None
    issuer: str | None
    listed: bool


class AuditFindingJson(TypedDict):
    id: str
    severity: str
    title: str
    store: str | None
    certificate: CertRefJson | ListedRefJson | None
    message: str
    references: list[str]
    fix: str
    evidence: list[str]


class IssuerListJson(TypedDict):
    source: str
    reason: str
    count: int
    bytes: int
    limit: int
    mixed_root: bool


class AuditSummaryJson(TypedDict):
    errors: int
    warnings: int
    info: int
    fail_on: str
    verdict: Literal["pass", "fail"]
    message: str


class AuditDocument(TypedDict):
    schema: Literal["certgate.audit/1"]
    at: str
    stores: list[StoreCountJson]
    certificates: list[StoredCertDetailJson]
    listed_certificates: list[AuditListedJson]
    findings: list[AuditFindingJson]
    issuer_list: IssuerListJson
    summary: AuditSummaryJson
    warnings: list[str]
    unknowns: list[str]


# -- certgate.verify/1 ----------------------------------------------------------------------


class CheckJson(TypedDict):
    kind: str
    status: str
    code: str
    depth: int | None
    sha1: str | None
    message: str


class CaveatJson(TypedDict):
    confidence: str
    text: str


class EngineVerdictJson(TypedDict):
    verdict: str
    code: str
    message: str
    path: list[str]
    reasons: list[CheckJson]
    caveats: list[CaveatJson]
    path_budget_exhausted: bool
    # the windows engine
    hresult: NotRequired[str]
    win32_status: NotRequired[int]
    wcf_native: NotRequired[str | None]
    iis_status: NotRequired[str]
    cert_trust_error_status: NotRequired[int]
    cert_trust_errors: NotRequired[list[str]]
    cert_trust_info_status: NotRequired[int]
    cert_trust_info: NotRequired[list[str]]
    trust_mode: NotRequired[int]
    issuer_list_source: NotRequired[str]
    issuer_list_sent: NotRequired[bool]
    # the openssl engine
    error: NotRequired[int]
    depth: NotRequired[int]
    error_text: NotRequired[str]


class CandidatePathJson(TypedDict):
    engine: str
    chosen: bool
    certificates: list[str]
    subjects: list[str]
    end: str
    valid: bool
    checks: list[CheckJson]


class ShortVerdictJson(TypedDict):
    verdict: str
    code: str
    short: str


class WhatIfJson(TypedDict):
    change: str
    engine: str
    before: ShortVerdictJson
    after: ShortVerdictJson | None
    error: str | None


class VerifyDocument(TypedDict):
    schema: Literal["certgate.verify/1"]
    at: str
    leaf: str
    verdict: Literal["accept", "reject"]
    engines: dict[str, EngineVerdictJson]
    paths: list[CandidatePathJson]
    what_if: list[WhatIfJson]
    certificates: dict[str, CertDetailJson]
    notes: list[str]
    warnings: list[str]
    settings: NotRequired[list[SettingOriginJson]]


# -- certgate.explain/1 ---------------------------------------------------------------------


class RankedCauseJson(TypedDict):
    rank: int
    text: str
    confirm: str
    confidence: str


class EntryJson(TypedDict):
    id: str
    family: str
    code: str
    name: str
    summary: str
    meaning: str
    causes: list[RankedCauseJson]
    fixes: list[str]
    references: list[str]
    confidence: str
    aliases: list[str]
    forms: dict[str, str]
    value: int | None
    related: list[str]


class HowMatchedJson(TypedDict):
    kind: str
    text: str
    why: str
    score: int


class MatchJson(EntryJson):
    rank: int
    match: HowMatchedJson


class SuggestionJson(TypedDict):
    id: str
    name: str
    summary: str


class ExplainDocument(TypedDict):
    """``certgate explain TEXT --json``."""

    schema: Literal["certgate.explain/1"]
    input: str
    matches: list[MatchJson]
    suggestions: list[SuggestionJson]


class ExplainListDocument(TypedDict):
    """``certgate explain --list --json``."""

    schema: Literal["certgate.explain/1"]
    families: dict[str, int]
    entries: list[EntryJson]


# -- certgate.logs/1 ------------------------------------------------------------------------


class FileProblemJson(TypedDict):
    where: str
    message: str


class KindCountJson(TypedDict):
    kind: str
    count: int


class LogFileJson(TypedDict):
    path: str
    format: str | None
    events: int
    skipped: int
    error: str | None
    problems: list[FileProblemJson]
    other: list[KindCountJson]
    notes: list[str]


class HistogramJson(TypedDict):
    bucket_seconds: int
    buckets: list[BucketJson]


class ValueCountJson(TypedDict):
    value: str
    count: int


class LogSummaryJson(TypedDict):
    events: int
    untimed: int
    uncoded: int
    first: str | None
    last: str | None
    histogram: HistogramJson
    client_ips: list[ValueCountJson]
    subjects: list[ValueCountJson]
    thumbprints: list[ValueCountJson]
    notes: list[str]
    sides: dict[str, int]


class TimeWhereJson(TypedDict):
    time: str | None
    where: str


class CodeGroupJson(TypedDict):
    code: str
    name: str
    count: int
    first: TimeWhereJson
    last: TimeWhereJson
    meaning: str | None


class LogsDocument(TypedDict):
    schema: Literal["certgate.logs/1"]
    files: list[LogFileJson]
    summary: LogSummaryJson
    groups: list[CodeGroupJson]


# -- certgate.doctor/1 ----------------------------------------------------------------------


class EvidenceJson(TypedDict):
    kind: str
    text: str
    source: str | None
    confidence: str
    sha1: str | None
    lines: list[str]


class SubjectRefJson(TypedDict):
    sha1: str
    subject: str


class MoveCertificatesActionJson(TypedDict):
    type: Literal["move-certificates"]
    source: str
    target: str
    certificates: list[SubjectRefJson]


class ChangeGroupPolicyActionJson(TypedDict):
    type: Literal["change-group-policy"]
    source: str
    target: str
    gpo_paths: list[str]
    certificates: list[SubjectRefJson]


class ImportCertificatesActionJson(TypedDict):
    type: Literal["import-certificates"]
    store: str
    certificates: list[SubjectRefJson]


class SetSchannelValueActionJson(TypedDict):
    type: Literal["set-schannel-value"]
    name: str
    value: int | None
    remove: list[str]
    reboot: bool


class UpdateBindingActionJson(TypedDict):
    type: Literal["update-binding"]
    endpoint: str
    changes: dict[str, str]


class MoveMappingSectionActionJson(TypedDict):
    type: Literal["move-mapping-section"]
    path: str
    target: str


class ManualActionJson(TypedDict):
    type: Literal["manual"]
    text: str


ActionJson = (
    MoveCertificatesActionJson
    | ChangeGroupPolicyActionJson
    | ImportCertificatesActionJson
    | SetSchannelValueActionJson
    | UpdateBindingActionJson
    | MoveMappingSectionActionJson
    | ManualActionJson
)


class FixJson(TypedDict):
    label: str
    id: str
    title: str
    preferred: bool
    reboot: bool
    notes: list[str]
    actions: list[ActionJson]
    what_if_keys: list[str]


class ClientBeforeAfterJson(TypedDict):
    sha1: str
    subject: str
    before: str
    before_code: str
    after: str
    after_code: str
    accepted_after: bool


class FixCheckJson(TypedDict):
    fix: str
    label: str
    modelled: bool
    cause_gone: bool
    works: bool
    error: str | None
    clients: list[ClientBeforeAfterJson]


class CauseJson(TypedDict):
    id: str
    title: str
    confidence: str
    score: int
    summary: str
    evidence: list[EvidenceJson]
    fixes: list[FixJson]
    what_if: list[FixCheckJson]
    explains: list[str]
    confidence_basis: list[str]
    references: list[str]
    explanation: str


class TimeLocationJson(TypedDict):
    time: str | None
    location: str


class SymptomJson(TypedDict):
    key: str
    codes: list[str]
    label: str
    count: int
    first: TimeLocationJson
    last: TimeLocationJson
    sources: list[str]
    meaning: str | None
    likely_causes: list[str]
    explained_by: list[str]


class ClientVerdictJson(TypedDict):
    sha1: str
    subject: str
    source: str
    verdict: str
    code: str
    message: str
    iis_status: str | None
    hresult: str | None
    win32_status: int | None
    wcf_native: str | None


class ObservedClientJson(TypedDict):
    subject: str | None
    issuer: str | None
    thumbprint: str | None
    count: int
    location: str


class TimelineJson(TypedDict):
    events: int
    first: str | None
    last: str | None
    bucket_seconds: int
    buckets: list[BucketJson]


class DoctorDocument(TypedDict):
    schema: Literal["certgate.doctor/1"]
    at: str
    verdict: str
    causes: list[CauseJson]
    symptoms: list[SymptomJson]
    unexplained: list[SymptomJson]
    clients: list[ClientVerdictJson]
    observed_clients: list[ObservedClientJson]
    timeline: TimelineJson | None
    notes: list[str]
    errors: list[str]
    unread: list[str]
    set_aside: list[str]


# -- certgate.machine/1 ---------------------------------------------------------------------


class SettingJson(TypedDict):
    value: int | str | bool | None
    source: str


class NamedSettingJson(SettingJson):
    names: list[str]


class NameSourceJson(TypedDict):
    name: str
    source: str | None


class MessageSourceJson(TypedDict):
    message: str
    source: str | None


class ProtocolJson(TypedDict):
    protocol: str
    side: str
    enabled: SettingJson
    disabled_by_default: SettingJson


class OtherValueJson(SettingJson):
    name: str


class SchannelJson(TypedDict):
    source: str | None
    client_auth_trust_mode: SettingJson
    send_trusted_issuer_list: SettingJson
    event_logging: SettingJson
    message_limit_server_client_auth: SettingJson
    misspelled: list[NameSourceJson]
    problems: list[MessageSourceJson]
    protocols: list[ProtocolJson]
    other_values: list[OtherValueJson]


class LabelValueJson(TypedDict):
    label: str
    value: str


class BindingJson(TypedDict):
    endpoint: str
    kind: str
    cert_hash: str | None
    app_id: str | None
    cert_store_name: str
    cert_check_mode: NamedSettingJson
    checks_revocation: bool
    cached_revocation_only: bool
    checks_usage: bool
    revocation_freshness_time: int
    url_retrieval_timeout: int
    ctl_identifier: str | None
    ctl_store_name: SettingJson
    flags: NamedSettingJson
    negotiates_client_cert: bool
    source: str | None
    reported_by: str | None
    field_sources: dict[str, str]
    extra: list[LabelValueJson]


class MachineStoreJson(TypedDict):
    name: str
    count: int
    listed: int
    exported: bool


class ListedDetailJson(TypedDict):
    store: str
    sha1: str | None
    subject: str | None
    issuer: str | None
    not_before: str | None
    not_after: str | None
    times_are_local: bool
    friendly_name: str | None
    serial: str | None
    source: str
    listing: str
    truncated: list[str]
    certutil_says: list[str]
    names_self_issued: bool | None


class SiteBindingJson(TypedDict):
    protocol: str
    binding_information: str
    ssl_flags: SettingJson
    source: str


class ApplicationJson(TypedDict):
    path: str
    physical_path: str | None
    source: str


class SiteJson(TypedDict):
    name: str
    id: str | None
    source: str
    bindings: list[SiteBindingJson]
    applications: list[ApplicationJson]


class OneToOneJson(TypedDict):
    user_name: str
    enabled: bool
    certificate_sha1: str | None
    has_password: bool
    source: str


class MappingRuleJson(TypedDict):
    certificate_field: str
    certificate_sub_field: str
    match_criteria: str
    compare_case_sensitive: bool
    source: str


class ManyToOneJson(TypedDict):
    name: str
    user_name: str
    enabled: bool
    permission_mode: str
    has_password: bool
    source: str
    rules: list[MappingRuleJson]


class IisMappingJson(TypedDict):
    enabled: SettingJson
    one_to_one_enabled: SettingJson
    many_to_one_enabled: SettingJson
    logon_method: SettingJson
    source: str
    one_to_one: list[OneToOneJson]
    many_to_one: list[ManyToOneJson]


class AccessSslFlagsJson(SettingJson):
    names: str  # as IIS writes them: "Ssl, SslNegotiateCert"


class LocationJson(TypedDict):
    path: str
    level: str
    file: str
    source: str
    override_mode: str | None
    access_ssl_flags: AccessSslFlagsJson | None
    anonymous_enabled: SettingJson | None
    ad_mapping_enabled: SettingJson | None
    iis_mapping: IisMappingJson | None


class SectionDefaultJson(TypedDict):
    section: str
    override_mode_default: str
    source: str


class IisJson(TypedDict):
    files: list[str]
    sites: list[SiteJson]
    locations: list[LocationJson]
    section_override_defaults: list[SectionDefaultJson]


class OsVersionJson(TypedDict):
    name: str
    label: str
    source: str | None


class LogFileSizeJson(TypedDict):
    name: str
    size: int


class PartJson(TypedDict):
    name: str
    kind: str
    status: str
    detail: str


class MachineDocument(TypedDict):
    schema: Literal["certgate.machine/1"]
    path: str
    format: str
    collected: dict[str, str] | None
    os_version: OsVersionJson | None
    schannel: SchannelJson
    bindings_source: str | None
    bindings: list[BindingJson]
    stores: list[MachineStoreJson]
    certificates: list[StoredCertDetailJson]
    listed_certificates: list[ListedDetailJson]
    iis: IisJson | None
    logs: list[LogFileSizeJson]
    parts: list[PartJson]
    unknowns: list[str]
    errors: list[str]
    warnings: list[str]
    settings: NotRequired[list[SettingOriginJson]]


# -- certgate.probe/1 -----------------------------------------------------------------------


class ProbeTargetJson(TypedDict):
    host: str
    port: int
    sni: str | None
    address: str | None
    paths: list[str]


class ProbeErrorJson(TypedDict):
    code: str
    message: str


class CaNameJson(TypedDict):
    dn: str
    der_bytes: int


class CertificateRequestJson(TypedDict):
    stage: str
    ca_names: list[CaNameJson]
    ca_names_bytes: int
    signature_algorithms: list[str] | None
    certificate_types: list[str] | None
    source: Literal["message", "openssl-api"]


class HttpJson(TypedDict):
    status: int
    reason: str
    server: str | None
    substatus: str | None
    error_code: str | None
    page: str | None
    truncated: bool
    kb: list[str]


class AlertJson(TypedDict):
    number: int
    name: str
    kb: str


class AttemptJson(TypedDict):
    outcome: str
    summary: str
    handshake_completed: bool
    protocol: str | None
    cipher: str | None
    post_handshake_auth: bool
    certificate_requests: list[CertificateRequestJson]
    alert: AlertJson | None
    http: HttpJson | None
    detail: str | None


class SelectionJson(TypedDict):
    offered: bool
    ca_names_empty: bool
    matched: list[str]
    chain_issuers: list[str]


class PathJson(TypedDict):
    path: str
    requirement: str
    basis: str
    stage: str | None
    without_certificate: AttemptJson | None
    with_certificate: AttemptJson | None
    selection: SelectionJson | None
    certificate_refused: bool | None


class VersionJson(TypedDict):
    version: str
    supported: bool
    requirement: str | None
    protocol: str | None
    cipher: str | None
    certificate_request: CertificateRequestJson | None
    paths: list[PathJson]
    detail: str | None


class ChainLinkJson(TypedDict):
    subject: str
    issuer: str


class ClientCertificateJson(TypedDict):
    subject: str
    issuer: str
    sha1: str
    chain: list[ChainLinkJson]


class ProbeFindingJson(TypedDict):
    code: str
    severity: str
    version: str | None
    path: str | None
    message: str
    kb: list[str]
    explanations: dict[str, str]


class ProbeDocument(TypedDict):
    schema: Literal["certgate.probe/1"]
    target: ProbeTargetJson
    error: ProbeErrorJson | None
    requirement: str
    certificate_refused: bool | None
    client_certificate: ClientCertificateJson | None
    versions: list[VersionJson]
    findings: list[ProbeFindingJson]
