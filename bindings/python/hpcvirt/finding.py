"""Findings: what host discovery and planning noticed (mirrors hpcvirt/finding.h)."""
from dataclasses import dataclass
from typing import Any, Callable, List

from ._native import lib, to_str


@dataclass(frozen=True)
class Finding:
    """One finding. `severity` is "info", "warning" or "error"; `code` a stable
    dotted identifier ("host.numa.memory-mismatch"); `path` the JSON path of
    the input (or the file) it is about, '' when none; `message` says what to do."""

    severity: str
    code: str
    path: str
    message: str

    @classmethod
    def _from_cdata(cls, finding: Any) -> "Finding":
        """A Finding copied out of a borrowed `const hv_finding *`."""
        return cls(
            severity=to_str(lib.hv_severity_name(lib.hv_finding_severity(finding))),
            code=to_str(lib.hv_finding_code(finding)),
            path=to_str(lib.hv_finding_path(finding)),
            message=to_str(lib.hv_finding_message(finding)),
        )

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        return f"{self.severity} {self.code}: {self.message}{where}"


def findings_from(count: int, at: Callable[[int], Any]) -> List[Finding]:
    """Copy `count` findings, each returned by `at(index)`, into a list of Finding."""
    return [Finding._from_cdata(at(i)) for i in range(count)]


__all__ = ["Finding", "findings_from"]
