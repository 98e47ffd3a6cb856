"""A local directory of run records that could not be stored yet.

When the store is unreachable a training job must not die for it: the finished record is written
here (atomically: temp file, fsync, rename), and the next successful connection, or
``smote-monitor spool replay``, stores it. Replaying is idempotent because every record carries
its run_key, so a record replayed twice, or by two processes at once, is stored once.

Every entry names the store it was meant for (its :func:`~smote_monitor.store.database.
store_identity`, no password) and is replayed into that store only: one spool directory may be
shared by pipelines writing to different stores, and a run must never land in a store it was not
meant for. Entries for another store stay in the spool, untouched. Entries written by an older
smote-monitor name no store; they are replayed only when asked
(``smote-monitor spool replay --into-current-store``), never automatically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smote_monitor import jsonio
from smote_monitor.drift.reference import Profiles, profiles_from_dict, profiles_to_dict
from smote_monitor.errors import InvalidInputError, RunConflictError, StoreUnavailableError
from smote_monitor.records import RunRecord, parse_run_record
from smote_monitor.store import Store
from smote_monitor.tracking.persist import persist_run

log = logging.getLogger(__name__)

REJECTED_DIR = "rejected"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
READABLE_KEY_MAX = 64


def spool_name(dataset: str, run_key: str) -> str:
    """The spool file of a run: ``<dataset>+<readable key>+<digest>.json``.

    A run key is free text ("daily/2026-11-28", "€…", up to 128 characters), so it cannot be a
    file name as it stands. The readable part keeps the key's safe characters for people listing
    the spool; the digest of (dataset, run_key) makes the name distinct for every run (128 bits).
    Dataset names are already file-name safe. Replay reads the run from the file's content, so
    files spooled under any earlier naming replay too.
    """
    digest = hashlib.sha256(jsonio.dumps([dataset, run_key]).encode()).hexdigest()[:32]
    readable = _UNSAFE.sub("_", run_key)[:READABLE_KEY_MAX]
    return f"{dataset}+{readable}+{digest}.json"


STORE_KEY = "store"
"""The entry's target: ``{"identity": store_identity(url), "url": url without password}``."""


@dataclass
class ReplayResult:
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    remaining: int = 0
    waiting: dict[str, int] = field(default_factory=dict)
    """Entries meant for another store, by that store's URL: left in the spool."""
    untargeted: int = 0
    """Entries that name no store (an older smote-monitor), left unless asked to replay them."""


@dataclass(frozen=True)
class SpoolEntry:
    """A pending entry as ``spool list`` shows it; ``store`` None when it names none."""

    path: Path
    dataset: str | None
    run_key: str | None
    store: str | None
    error: str | None = None


class Spool:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def put(self, store: Store, record: RunRecord, profiles: Profiles | None = None) -> Path:
        """Spool ``record`` for ``store``, the store it was meant for and the only one it will
        be replayed into."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / spool_name(record.dataset, record.run_key)
        # Not *.json: a replay running meanwhile must not take the file half-written.
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                payload: dict[str, Any] = {
                    STORE_KEY: {"identity": store.identity, "url": store.url_for_display},
                    "record": record.model_dump(mode="json"),
                }
                if profiles:
                    payload["profiles"] = profiles_to_dict(profiles)
                handle.write(jsonio.dumps(payload))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def pending(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        files = [p for p in self.directory.glob("*.json") if not p.name.startswith(".")]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def entries(self) -> list[SpoolEntry]:
        """What is waiting, and for which store."""
        listed = []
        for path in self.pending():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                record = data.get("record") or {}
                target = _target(data)
                listed.append(
                    SpoolEntry(
                        path,
                        record.get("dataset"),
                        record.get("run_key"),
                        target[1] if target else None,
                    )
                )
            except FileNotFoundError:
                continue
            except (
                json.JSONDecodeError,
                AttributeError,
                InvalidInputError,
                UnicodeDecodeError,
            ) as exc:
                listed.append(SpoolEntry(path, None, None, None, error=str(exc)))
        return listed

    def replay(self, store: Store, *, into_current_store: bool = False) -> ReplayResult:
        """Store every pending record meant for ``store``; stop at the first sign the store is
        down again.

        Entries meant for another store are left as they are and counted in ``waiting``;
        entries naming no store are counted in ``untargeted`` and left, unless
        ``into_current_store``. A record the store refuses (invalid, or conflicting with a
        stored run) is moved to ``rejected/`` with the reason beside it, never deleted.
        """
        result = ReplayResult()
        pending = self.pending()
        for index, path in enumerate(pending):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                target = _target(data)
                if target is None and not into_current_store:
                    result.untargeted += 1
                    continue
                if target is not None and target[0] != store.identity:
                    result.waiting[target[1]] = result.waiting.get(target[1], 0) + 1
                    continue
                record = parse_run_record(data.get("record"))
                profiles = profiles_from_dict(data["profiles"]) if "profiles" in data else None
                outcome = persist_run(store, record, profiles)
            except FileNotFoundError:
                continue  # another process replayed it first
            except StoreUnavailableError:
                result.remaining = len(pending) - index
                break
            except (
                InvalidInputError,
                RunConflictError,
                json.JSONDecodeError,
                AttributeError,
            ) as exc:
                self._reject(path, str(exc))
                result.rejected.append((path.name, str(exc)))
                continue
            path.unlink(missing_ok=True)
            if outcome.action == "duplicate":
                result.duplicates += 1
            else:
                result.stored += 1
                log.info(
                    "replayed spooled run %s/%s as run %s",
                    record.dataset,
                    record.run_key,
                    outcome.run_id,
                )
        return result

    def _reject(self, path: Path, reason: str) -> None:
        rejected = self.directory / REJECTED_DIR
        rejected.mkdir(exist_ok=True)
        os.replace(path, rejected / path.name)
        (rejected / f"{path.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        log.error("spooled record %s rejected: %s (kept in %s)", path.name, reason, rejected)


def _target(data: Any) -> tuple[str, str] | None:
    """The entry's (identity, display URL), or None when it names no store."""
    if STORE_KEY not in data:
        return None
    target = data[STORE_KEY]
    if (
        not isinstance(target, dict)
        or not isinstance(target.get("identity"), str)
        or not isinstance(target.get("url"), str)
    ):
        raise InvalidInputError(
            STORE_KEY, target, 'an object {"identity": …, "url": …} naming the target store'
        )
    return target["identity"], target["url"]
