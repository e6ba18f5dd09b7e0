"""The shape of every JSON document the commands print, as TypedDicts: the builders in
``report/`` return them, so mypy checks each key and value type where the document is made.

Each top-level type matches the checked-in schema ``docs/schemas/<name>-<version>.json``
(``tests/test_json_typed.py`` keeps the two in step: the same keys, the same required keys,
the same value types, all the way down). Change both together.

Only ``typing`` here: ``certgate explain --json`` loads this without cryptography.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

__all__ = [
    "AuditDocument",
    "CertDetail",
    "CertRef",
    "DoctorDocument",
    "ExplainDocument",
    "ExplainListDocument",
    "LogsDocument",
    "MachineDocument",
    "ProbeDocument",
    "VerifyDocument",
]


# -- shared ---------------------------------------------------------------------------------


class CertRef(TypedDict):
    """The short reference findings use: enough to find the certificate in certlm.msc."""

    sha1: str
    subject: str
    issuer: str


class CertDetail(CertRef):
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


class StoredCertDetail(CertDetail):
    store: str


class Bucket(TypedDict):
    start: str
    count: int


# -- certgate.audit/1 -----------------------------------------------------------------------


class StoreCount(TypedDict):
    name: str
    count: int


class AuditListed(TypedDict):
    sha1: str | None
    subject: str | None
    issuer: str | None
    store: str
    not_before: str | None
    not_after: str | None
    source: str
    listed: bool


class ListedRef(TypedDict):
    sha1: str | None
    subject: str | None
    issuer: str | None
    listed: bool


class AuditFinding(TypedDict):
    id: str
    severity: str
    title: str
    store: str | None
    certificate: CertRef | ListedRef | None
    message: str
    references: list[str]
    fix: str
    evidence: list[str]


class IssuerList(TypedDict):
    source: str
    reason: str
    count: int
    bytes: int
    limit: int
    mixed_root: bool


class AuditSummary(TypedDict):
    errors: int
    warnings: int
    info: int
    fail_on: str
    verdict: Literal["pass", "fail"]
    message: str


class AuditDocument(TypedDict):
    schema: Literal["certgate.audit/1"]
    at: str
    stores: list[StoreCount]
    certificates: list[StoredCertDetail]
    listed_certificates: list[AuditListed]
    findings: list[AuditFinding]
    issuer_list: IssuerList
    summary: AuditSummary
    warnings: list[str]
    unknowns: list[str]


# -- certgate.verify/1 ----------------------------------------------------------------------


class CheckDocument(TypedDict):
    kind: str
    status: str
    code: str
    depth: int | None
    sha1: str | None
    message: str


class Caveat(TypedDict):
    confidence: str
    text: str


class EngineVerdict(TypedDict):
    verdict: str
    code: str
    message: str
    path: list[str]
    reasons: list[CheckDocument]
    caveats: list[Caveat]
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


class CandidatePath(TypedDict):
    engine: str
    chosen: bool
    certificates: list[str]
    subjects: list[str]
    end: str
    valid: bool
    checks: list[CheckDocument]


class ShortVerdict(TypedDict):
    verdict: str
    code: str
    short: str


class WhatIfDocument(TypedDict):
    change: str
    engine: str
    before: ShortVerdict
    after: ShortVerdict | None
    error: str | None


class VerifyDocument(TypedDict):
    schema: Literal["certgate.verify/1"]
    at: str
    leaf: str
    verdict: Literal["accept", "reject"]
    engines: dict[str, EngineVerdict]
    paths: list[CandidatePath]
    what_if: list[WhatIfDocument]
    certificates: dict[str, CertDetail]
    notes: list[str]
    warnings: list[str]


# -- certgate.explain/1 ---------------------------------------------------------------------


class RankedCause(TypedDict):
    rank: int
    text: str
    confirm: str
    confidence: str


class EntryDocument(TypedDict):
    id: str
    family: str
    code: str
    name: str
    summary: str
    meaning: str
    causes: list[RankedCause]
    fixes: list[str]
    references: list[str]
    confidence: str
    aliases: list[str]
    forms: dict[str, str]
    value: int | None
    related: list[str]


class HowMatched(TypedDict):
    kind: str
    text: str
    why: str
    score: int


class MatchDocument(EntryDocument):
    rank: int
    match: HowMatched


class Suggestion(TypedDict):
    id: str
    name: str
    summary: str


class ExplainDocument(TypedDict):
    """``certgate explain TEXT --json``."""

    schema: Literal["certgate.explain/1"]
    input: str
    matches: list[MatchDocument]
    suggestions: list[Suggestion]


class ExplainListDocument(TypedDict):
    """``certgate explain --list --json``."""

    schema: Literal["certgate.explain/1"]
    families: dict[str, int]
    entries: list[EntryDocument]


# -- certgate.logs/1 ------------------------------------------------------------------------


class FileProblem(TypedDict):
    where: str
    message: str


class KindCount(TypedDict):
    kind: str
    count: int


class LogFile(TypedDict):
    path: str
    format: str | None
    events: int
    skipped: int
    error: str | None
    problems: list[FileProblem]
    other: list[KindCount]
    notes: list[str]


class Histogram(TypedDict):
    bucket_seconds: int
    buckets: list[Bucket]


class ValueCount(TypedDict):
    value: str
    count: int


class LogSummaryDocument(TypedDict):
    events: int
    untimed: int
    uncoded: int
    first: str | None
    last: str | None
    histogram: Histogram
    client_ips: list[ValueCount]
    subjects: list[ValueCount]
    thumbprints: list[ValueCount]
    notes: list[str]
    sides: dict[str, int]


class TimeWhere(TypedDict):
    time: str | None
    where: str


class CodeGroupDocument(TypedDict):
    code: str
    name: str
    count: int
    first: TimeWhere
    last: TimeWhere
    meaning: str | None


class LogsDocument(TypedDict):
    schema: Literal["certgate.logs/1"]
    files: list[LogFile]
    summary: LogSummaryDocument
    groups: list[CodeGroupDocument]


# -- certgate.doctor/1 ----------------------------------------------------------------------


class EvidenceDocument(TypedDict):
    kind: str
    text: str
    source: str | None
    confidence: str
    sha1: str | None
    lines: list[str]


class SubjectRef(TypedDict):
    sha1: str
    subject: str


class MoveCertificatesAction(TypedDict):
    type: Literal["move-certificates"]
    source: str
    target: str
    certificates: list[SubjectRef]


class ChangeGroupPolicyAction(TypedDict):
    type: Literal["change-group-policy"]
    source: str
    target: str
    gpo_paths: list[str]
    certificates: list[SubjectRef]


class ImportCertificatesAction(TypedDict):
    type: Literal["import-certificates"]
    store: str
    certificates: list[SubjectRef]


class SetSchannelValueAction(TypedDict):
    type: Literal["set-schannel-value"]
    name: str
    value: int | None
    remove: list[str]
    reboot: bool


class UpdateBindingAction(TypedDict):
    type: Literal["update-binding"]
    endpoint: str
    changes: dict[str, str]


class MoveMappingSectionAction(TypedDict):
    type: Literal["move-mapping-section"]
    path: str
    target: str


class ManualAction(TypedDict):
    type: Literal["manual"]
    text: str


ActionDocument = (
    MoveCertificatesAction
    | ChangeGroupPolicyAction
    | ImportCertificatesAction
    | SetSchannelValueAction
    | UpdateBindingAction
    | MoveMappingSectionAction
    | ManualAction
)


class FixDocument(TypedDict):
    label: str
    id: str
    title: str
    preferred: bool
    reboot: bool
    notes: list[str]
    actions: list[ActionDocument]
    what_if_keys: list[str]


class ClientBeforeAfter(TypedDict):
    sha1: str
    subject: str
    before: str
    before_code: str
    after: str
    after_code: str
    accepted_after: bool


class FixCheckDocument(TypedDict):
    fix: str
    label: str
    modelled: bool
    cause_gone: bool
    works: bool
    error: str | None
    clients: list[ClientBeforeAfter]


class CauseDocument(TypedDict):
    id: str
    title: str
    confidence: str
    score: int
    summary: str
    evidence: list[EvidenceDocument]
    fixes: list[FixDocument]
    what_if: list[FixCheckDocument]
    explains: list[str]
    confidence_basis: list[str]
    references: list[str]
    explanation: str


class TimeLocation(TypedDict):
    time: str | None
    location: str


class SymptomDocument(TypedDict):
    key: str
    codes: list[str]
    label: str
    count: int
    first: TimeLocation
    last: TimeLocation
    sources: list[str]
    meaning: str | None
    likely_causes: list[str]
    explained_by: list[str]


class ClientVerdict(TypedDict):
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


class ObservedClient(TypedDict):
    subject: str | None
    issuer: str | None
    thumbprint: str | None
    count: int
    location: str


class Timeline(TypedDict):
    events: int
    first: str | None
    last: str | None
    bucket_seconds: int
    buckets: list[Bucket]


class DoctorDocument(TypedDict):
    schema: Literal["certgate.doctor/1"]
    at: str
    verdict: str
    causes: list[CauseDocument]
    symptoms: list[SymptomDocument]
    unexplained: list[SymptomDocument]
    clients: list[ClientVerdict]
    observed_clients: list[ObservedClient]
    timeline: Timeline | None
    notes: list[str]
    errors: list[str]
    unread: list[str]
    set_aside: list[str]


# -- certgate.machine/1 ---------------------------------------------------------------------


class SettingDocument(TypedDict):
    value: int | str | bool | None
    source: str


class NamedSetting(SettingDocument):
    names: list[str]


class NameSource(TypedDict):
    name: str
    source: str | None


class MessageSource(TypedDict):
    message: str
    source: str | None


class ProtocolDocument(TypedDict):
    protocol: str
    side: str
    enabled: SettingDocument
    disabled_by_default: SettingDocument


class OtherValue(SettingDocument):
    name: str


class SchannelDocument(TypedDict):
    source: str | None
    client_auth_trust_mode: SettingDocument
    send_trusted_issuer_list: SettingDocument
    event_logging: SettingDocument
    message_limit_server_client_auth: SettingDocument
    misspelled: list[NameSource]
    problems: list[MessageSource]
    protocols: list[ProtocolDocument]
    other_values: list[OtherValue]


class LabelValue(TypedDict):
    label: str
    value: str


class BindingDocument(TypedDict):
    endpoint: str
    kind: str
    cert_hash: str | None
    app_id: str | None
    cert_store_name: str
    cert_check_mode: NamedSetting
    checks_revocation: bool
    cached_revocation_only: bool
    checks_usage: bool
    revocation_freshness_time: int
    url_retrieval_timeout: int
    ctl_identifier: str | None
    ctl_store_name: SettingDocument
    flags: NamedSetting
    negotiates_client_cert: bool
    source: str | None
    reported_by: str | None
    field_sources: dict[str, str]
    extra: list[LabelValue]


class MachineStore(TypedDict):
    name: str
    count: int
    listed: int
    exported: bool


class ListedDetail(TypedDict):
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


class SiteBinding(TypedDict):
    protocol: str
    binding_information: str
    ssl_flags: SettingDocument
    source: str


class Application(TypedDict):
    path: str
    physical_path: str | None
    source: str


class Site(TypedDict):
    name: str
    id: str | None
    source: str
    bindings: list[SiteBinding]
    applications: list[Application]


class OneToOne(TypedDict):
    user_name: str
    enabled: bool
    certificate_sha1: str | None
    has_password: bool
    source: str


class MappingRule(TypedDict):
    certificate_field: str
    certificate_sub_field: str
    match_criteria: str
    compare_case_sensitive: bool
    source: str


class ManyToOne(TypedDict):
    name: str
    user_name: str
    enabled: bool
    permission_mode: str
    has_password: bool
    source: str
    rules: list[MappingRule]


class IisMapping(TypedDict):
    enabled: SettingDocument
    one_to_one_enabled: SettingDocument
    many_to_one_enabled: SettingDocument
    logon_method: SettingDocument
    source: str
    one_to_one: list[OneToOne]
    many_to_one: list[ManyToOne]


class AccessSslFlags(SettingDocument):
    names: str  # as IIS writes them: "Ssl, SslNegotiateCert"


class LocationDocument(TypedDict):
    path: str
    level: str
    file: str
    source: str
    override_mode: str | None
    access_ssl_flags: AccessSslFlags | None
    anonymous_enabled: SettingDocument | None
    ad_mapping_enabled: SettingDocument | None
    iis_mapping: IisMapping | None


class SectionDefault(TypedDict):
    section: str
    override_mode_default: str
    source: str


class IisDocument(TypedDict):
    files: list[str]
    sites: list[Site]
    locations: list[LocationDocument]
    section_override_defaults: list[SectionDefault]


class OsVersion(TypedDict):
    name: str
    label: str
    source: str | None


class LogFileSize(TypedDict):
    name: str
    size: int


class Part(TypedDict):
    name: str
    kind: str
    status: str
    detail: str


class MachineDocument(TypedDict):
    schema: Literal["certgate.machine/1"]
    path: str
    format: str
    collected: dict[str, str] | None
    os_version: OsVersion | None
    schannel: SchannelDocument
    bindings_source: str | None
    bindings: list[BindingDocument]
    stores: list[MachineStore]
    certificates: list[StoredCertDetail]
    listed_certificates: list[ListedDetail]
    iis: IisDocument | None
    logs: list[LogFileSize]
    parts: list[Part]
    unknowns: list[str]
    errors: list[str]
    warnings: list[str]


# -- certgate.probe/1 -----------------------------------------------------------------------


class ProbeTargetDocument(TypedDict):
    host: str
    port: int
    sni: str | None
    address: str | None
    paths: list[str]


class ProbeErrorDocument(TypedDict):
    code: str
    message: str


class CaName(TypedDict):
    dn: str
    der_bytes: int


class CertificateRequestDocument(TypedDict):
    stage: str
    ca_names: list[CaName]
    ca_names_bytes: int
    signature_algorithms: list[str] | None
    certificate_types: list[str] | None
    source: Literal["message", "openssl-api"]


class HttpDocument(TypedDict):
    status: int
    reason: str
    server: str | None
    substatus: str | None
    error_code: str | None
    page: str | None
    truncated: bool
    kb: list[str]


class AlertDocument(TypedDict):
    number: int
    name: str
    kb: str


class AttemptDocument(TypedDict):
    outcome: str
    summary: str
    handshake_completed: bool
    protocol: str | None
    cipher: str | None
    post_handshake_auth: bool
    certificate_requests: list[CertificateRequestDocument]
    alert: AlertDocument | None
    http: HttpDocument | None
    detail: str | None


class SelectionDocument(TypedDict):
    offered: bool
    ca_names_empty: bool
    matched: list[str]
    chain_issuers: list[str]


class PathDocument(TypedDict):
    path: str
    requirement: str
    basis: str
    stage: str | None
    without_certificate: AttemptDocument | None
    with_certificate: AttemptDocument | None
    selection: SelectionDocument | None
    certificate_refused: bool | None


class VersionDocument(TypedDict):
    version: str
    supported: bool
    requirement: str | None
    protocol: str | None
    cipher: str | None
    certificate_request: CertificateRequestDocument | None
    paths: list[PathDocument]
    detail: str | None


class ChainLink(TypedDict):
    subject: str
    issuer: str


class ClientCertificateDocument(TypedDict):
    subject: str
    issuer: str
    sha1: str
    chain: list[ChainLink]


class ProbeFindingDocument(TypedDict):
    code: str
    severity: str
    version: str | None
    path: str | None
    message: str
    kb: list[str]
    explanations: dict[str, str]


class ProbeDocument(TypedDict):
    schema: Literal["certgate.probe/1"]
    target: ProbeTargetDocument
    error: ProbeErrorDocument | None
    requirement: str
    certificate_refused: bool | None
    client_certificate: ClientCertificateDocument | None
    versions: list[VersionDocument]
    findings: list[ProbeFindingDocument]
