"""A revision's output folder, kept with the revision, so any kpi command can finish its publication.

A month's output is made in a staging folder, marked ready inside the ledger's transaction and
swapped in right after the commit (:func:`kpi.io.output.staged_for_ledger`). A kill between the
commit and the swap leaves the ledger one revision ahead of the folder, with the complete new
folder beside it (``.out.ready-HOST-PID-…``). Like SQLite rolling back a hot journal when a
database is opened, every kpi command that opens the ledger first finishes such a publication
(:func:`settle`): the revision names the folder it publishes to (its summary's ``output``,
:func:`kpi.ledger.revisions.record_summary`), and a ready folder whose process is gone and
whose revision the ledger committed is put in place. So no command, and no file a person
opens through kpi, sees the ledger and the output disagree.
"""

from __future__ import annotations

import functools
from pathlib import Path

from kpi.io import output
from kpi.io.writers import results_json


def destinations(ledger) -> list[tuple[str, Path]]:
    """Each month's newest revision and the folder it was published to, where one is recorded."""
    rows = ledger.rows(
        "SELECT period, json_extract(summary, '$.output') AS folder FROM revisions r "
        "WHERE revision = (SELECT MAX(revision) FROM revisions WHERE period = r.period) "
        "AND json_valid(summary) AND json_extract(summary, '$.output') IS NOT NULL")
    return [(row["period"], Path(row["folder"])) for row in rows]


def settle(ledger) -> None:
    """Put in place every complete output a killed run left behind for a revision the ledger
    committed (the killed run's last step). Never fails: an unreachable folder is left as it is."""
    for period, destination in destinations(ledger):
        try:
            ready = f".{destination.name}.ready-"
            if not any(entry.name.startswith(ready) for entry in destination.parent.iterdir()):
                continue
            output.clear_abandoned(destination, destination.name,
                                   committed=functools.partial(counted, ledger, period, destination))
        except OSError:
            continue


def counted(ledger, period: str, destination: Path, folder: Path) -> bool:
    """Whether the output ``folder`` a killed run left complete is of a revision the ledger
    committed, and newer than what ``destination`` holds: then it goes in place."""
    head = results_json.read_head(folder / "results.json")
    if not head or head.get("period") != period or not isinstance(head.get("revision"), int):
        return False
    found = ledger.rows("SELECT 1 FROM revisions WHERE period = ? AND revision = ? AND input_sha256 = ?",
                        period, head["revision"], (head.get("input") or {}).get("sha256", ""))
    current = results_json.read_head(destination / "results.json") if destination.exists() else None
    newer = not current or not isinstance(current.get("revision"), int) or current["revision"] < head["revision"]
    return bool(found) and newer
