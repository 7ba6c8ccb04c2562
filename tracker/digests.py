"""Digests ready to send: a report's rows as a short Markdown message a person reads
(and a cron job mails), rather than as a table.

Every text that came from Canvas or from a person (names, courses, reasons) is escaped,
so that it shows as itself and never as Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tracker.analytics import Report

__all__ = ["markdown_text", "risk_changes_markdown"]

#: What Markdown (or HTML within it) reads as markup inside a line: emphasis, code, links,
#: tags, entities, tables, strikethrough. The text never starts a line (where "#", "-",
#: "1." would count), so those stay as they are and the message reads well unrendered.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_text(value: Any) -> str:
    """``value`` as Markdown text inside a line that renders as itself: each character
    Markdown (or HTML within it) would read as markup is backslash-escaped, and line
    breaks become spaces."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _risk(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def _student(row: Mapping[str, Any]) -> str:
    sis = f" ({markdown_text(row['sis_user_id'])})" if row.get("sis_user_id") else ""
    before = row["category_before"] or "not assessed"
    return (f"- **{markdown_text(row['student'])}**{sis}, {markdown_text(row['course'])}: "
            f"{before} → **{row['category']}** "
            f"(risk {_risk(row['risk_score_before'])} → {_risk(row['risk_score'])})")


def _details(row: Mapping[str, Any]) -> list[str]:
    lines = []
    if row["factors_moved"]:
        lines.append("  - moved: " + "; ".join(markdown_text(f) for f in row["factors_moved"]))
    if row["reasons"]:
        lines.append("  - reasons: " + "; ".join(markdown_text(r) for r in row["reasons"]))
    return lines


def _section(title: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", f"## {title} ({len(rows)})", ""]
    for row in rows:
        lines.append(_student(row))
        lines += _details(row)
    return lines


def risk_changes_markdown(report: Report) -> str:
    """The rows of the risk_changes report as a Markdown digest: a title naming the two
    syncs compared, then the students newly at high or critical risk, those whose risk
    rose, and those whose risk fell, each with the factors that moved and the reasons."""
    rows = report.rows
    if not rows:
        return "# Risk changes\n\nNo student's risk category moved between the two syncs.\n"
    since, latest = rows[0]["since_sync_id"], rows[0]["sync_id"]
    title = (f"# Risk changes: sync {since} → sync {latest}" if since is not None
             else f"# Risk as of sync {latest} (no earlier sync to compare with)")
    newly = [r for r in rows if r["newly_high"]]
    rose = [r for r in rows if not r["newly_high"] and r["change"] in ("new", "rose")]
    fell = [r for r in rows if r["change"] == "fell"]
    summary = (f"{len(rows)} student{'s' * (len(rows) != 1)}' risk moved; "
               f"{len(newly)} newly at high or critical risk.")
    lines = [title, "", summary]
    lines += _section("Newly at high or critical risk", newly)
    lines += _section("Risk rose", rose)
    lines += _section("Risk fell", fell)
    return "\n".join(lines) + "\n"
