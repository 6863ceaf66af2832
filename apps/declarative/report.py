"""What an apply did, per kind of entry: created, updated, unchanged (and, with --prune,
disabled, deleted, or kept although not listed)."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("providers", "offerings", "routing", "plans", "clients")


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    disabled: int = 0  # --prune only
    reset: int = 0
    deleted: int = 0
    kept: int = 0

    def count(self, *, created: bool, changed: bool) -> None:
        if created:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1


@dataclass
class ApplyReport:
    """What an apply did (or, on a dry run, would do), per kind of entry."""

    counts: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})
    synced: dict[str, int] = field(default_factory=dict)  # rows the registry sync created
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(
            c.created or c.updated or c.disabled or c.reset or c.deleted
            for c in self.counts.values()
        )

    def summary_lines(self) -> list[str]:
        lines = []
        if any(self.synced.values()):
            created = ", ".join(f"{n} {kind}" for kind, n in self.synced.items() if n)
            lines.append(f"catalog sync from the code registry created {created}")
        for kind, c in self.counts.items():
            line = f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            pruned = {
                "disabled": c.disabled,
                "reset": c.reset,
                "deleted": c.deleted,
                "kept (in use)": c.kept,
            }
            line += "".join(f", {n} {what}" for what, n in pruned.items() if n)
            lines.append(line)
        if self.dry_run:
            lines.append("dry run: nothing was saved")
        return lines
