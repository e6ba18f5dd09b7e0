"""Merge server reports as they stream in: counts per cause and per certificate, healthy,
unexplained, incomplete and unreadable servers (each server's status is the doctor's own
verdict, never re-derived here), one fix per distinct cause/certificate set; each server's
entry is spooled to a temporary file, not kept, so the coordinator's memory does not grow with
every diagnosis (only with the server names the answer lists).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Final, cast

from certgate.exitcode import ExitCode
from certgate.fleet._doctor import FixGroup, ServerReport
from certgate.fleet._documents import (
    FleetHead,
    FleetSummary,
    FleetVerdict,
    IncompleteServer,
    ServerEntry,
    UnreadableRef,
)
from certgate.report.jsonout import iso

__all__ = ["SCHEMA", "FleetAggregate", "GroupSeen"]

SCHEMA: Final = "certgate.fleet/1"


@dataclass
class GroupSeen:
    group: FixGroup
    servers: list[str] = field(default_factory=list)


@dataclass
class _CertSeen:
    subject: str
    causes: set[str] = field(default_factory=set)
    servers: list[str] = field(default_factory=list)
    stores: Counter[str] = field(default_factory=Counter)
    physical: Counter[str] = field(default_factory=Counter)


class FleetAggregate:
    def __init__(self, at: datetime) -> None:
        self.at = at
        self.causes: dict[str, tuple[str, list[str]]] = {}
        self.certificates: dict[str, _CertSeen] = {}
        self.healthy: list[str] = []
        self.unreadable: list[UnreadableRef] = []
        self.rule_failed: list[str] = []
        self.with_causes: list[str] = []
        self.unexplained: list[str] = []
        self.incomplete: list[IncompleteServer] = []
        self.groups: dict[str, GroupSeen] = {}
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._index: list[tuple[str, str, int]] = []

    def add(self, report: ServerReport) -> None:
        entry = report.entry
        server, status = entry["server"], entry["status"]
        self._index.append((server, entry["path"], self._spool.tell()))
        self._spool.write(json.dumps(entry, ensure_ascii=False) + "\n")
        if "error" in entry:  # status unreadable
            self.unreadable.append(
                {"server": server, "path": entry["path"], "error": entry["error"]}
            )
        elif status == "no-cause-found":
            self.healthy.append(server)
        elif status == "rule-failed":
            self.rule_failed.append(server)
        elif status == "symptoms-unexplained":
            self.unexplained.append(server)
        elif status == "incomplete":
            self.incomplete.append(
                {"server": server, "path": entry["path"], "unread": list(entry["unread"])}
            )
        else:
            self.with_causes.append(server)
        for cause in entry["causes"]:
            _, servers = self.causes.setdefault(cause["id"], (cause["title"], []))
            if server not in servers[-1:]:
                servers.append(server)
            for cert in cause["certificates"]:
                seen = self.certificates.setdefault(cert["sha1"], _CertSeen(cert["subject"]))
                seen.subject = seen.subject or cert["subject"]
                seen.causes.add(cause["id"])
                if server not in seen.servers[-1:]:
                    seen.servers.append(server)
                    seen.stores[cert["store"] or "-"] += 1
                    seen.physical[cert["origin"]] += 1
        for group in report.groups:
            seen_group = self.groups.get(group.key)
            if seen_group is None:
                seen_group = self.groups[group.key] = GroupSeen(group)
            seen_group.servers.append(server)

    @property
    def total(self) -> int:
        return len(self._index)

    def exit_code(self) -> ExitCode:
        """As the doctor's: 1 a cause or failures no cause explains somewhere, else 3 a rule
        failed, else 2 a bundle could not be read, else 0 (an ``incomplete`` server, whose
        unread inputs are listed, is 0 as ``certgate doctor`` is, but never healthy)."""
        if self.with_causes or self.unexplained:
            return ExitCode.FINDINGS
        if self.rule_failed:
            return ExitCode.INTERNAL
        return ExitCode.BAD_INPUT if self.unreadable else ExitCode.OK

    def summary(self) -> FleetSummary:
        return {
            "servers": self.total,
            "with_causes": len(self.with_causes),
            "healthy": len(self.healthy),
            "unreadable": len(self.unreadable),
            "rule_failed": len(self.rule_failed),
            "symptoms_unexplained": len(self.unexplained),
            "incomplete": len(self.incomplete),
        }

    def verdict(self) -> FleetVerdict:
        """The doctor's verdicts, fleet-wide: ``causes-found``, else ``symptoms-unexplained``,
        else ``incomplete`` (a server incomplete, unreadable or with a failed rule: evidence
        not judged), else ``no-cause-found`` (every server healthy)."""
        if self.with_causes:
            return "causes-found"
        if self.unexplained:
            return "symptoms-unexplained"
        if self.incomplete or self.unreadable or self.rule_failed:
            return "incomplete"
        return "no-cause-found"

    def document(self) -> FleetHead:
        """``certgate.fleet/1`` without ``servers`` (see ``servers()``); every list sorted, so
        the same bundles give the same document whatever order they finished in."""
        return {
            "schema": SCHEMA,
            "at": iso(self.at),
            "verdict": self.verdict(),
            "summary": self.summary(),
            "causes": [
                {"id": cid, "title": title, "servers": len(names), "server_names": sorted(names)}
                for cid, (title, names) in sorted(
                    self.causes.items(), key=lambda kv: (-len(kv[1][1]), kv[0])
                )
            ],
            "certificates": [
                {
                    "sha1": sha1,
                    "subject": seen.subject,
                    "causes": sorted(seen.causes),
                    "servers": len(seen.servers),
                    "server_names": sorted(seen.servers),
                    "stores": dict(sorted(seen.stores.items())),
                    "physical": dict(sorted(seen.physical.items())),
                }
                for sha1, seen in sorted(
                    self.certificates.items(), key=lambda kv: (-len(kv[1].servers), kv[0])
                )
            ],
            "healthy": sorted(self.healthy),
            "rule_failed": sorted(self.rule_failed),
            "symptoms_unexplained": sorted(self.unexplained),
            "incomplete": sorted(self.incomplete, key=lambda i: (i["server"], i["path"])),
            "unreadable": sorted(self.unreadable, key=lambda u: (u["server"], u["path"])),
            "fixes": [
                {
                    "id": key,
                    "cause": seen.group.cause,
                    "title": seen.group.title,
                    "certificates": list(seen.group.certificates),
                    "fixes": list(seen.group.fixes),
                    "servers": len(seen.servers),
                    "server_names": sorted(seen.servers),
                }
                for key, seen in self.ordered_groups()
            ],
        }

    def ordered_groups(self) -> list[tuple[str, GroupSeen]]:
        return sorted(
            self.groups.items(),
            key=lambda kv: (-len(kv[1].servers), kv[1].group.cause, kv[0]),
        )

    def servers(self) -> Iterator[ServerEntry]:
        """Each server's entry, by name then path, read back from the spool one at a time."""
        self._spool.flush()
        for _, _, offset in sorted(self._index):
            self._spool.seek(offset)
            yield cast(ServerEntry, json.loads(self._spool.readline()))  # as add() wrote it
        self._spool.seek(0, 2)

    def close(self) -> None:
        self._spool.close()
