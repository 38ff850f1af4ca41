"""Decision 766/QĐ-TTg scores from dossier figures (pure arithmetic, no database).

Only the parts of the index that dossier data supports are computed; transparency (18
points) needs portal audits and is left out, so the computed total is out of 82. The group
maxima, the split inside a group and the scaling thresholds are documented (with the
reasons) in docs/public-services.md, and each :class:`Component` carries its formula so the
UI shows it next to the figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# Group maxima of the index (reference: transparency 18, progress 20, satisfaction 18; the
# remaining 44 split 22/22 between online service and digitisation).
TRANSPARENCY_MAX = 18.0
PROGRESS_MAX = 20.0
ONLINE_MAX = 22.0
DIGITISATION_MAX = 22.0
SATISFACTION_MAX = 18.0
COMPUTED_MAX = PROGRESS_MAX + ONLINE_MAX + DIGITISATION_MAX + SATISFACTION_MAX  # 82

# Full points at or above these rates (percent); below them points scale linearly.
PROCEDURES_ONLINE_FULL_AT = 80.0
ONLINE_SUBMISSION_FULL_AT = 50.0
DIGITISATION_FULL_AT = 80.0
SATISFACTION_FULL_AT = 90.0
LINEAR = 100.0  # no threshold in the reference: full points only at 100 %


@dataclass(frozen=True)
class Figures:
    """What the scores are computed from, for one agency (or the province) and period."""

    received: int = 0  # every dossier received in the period, cancelled ones included
    early: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0  # unfinished and past due: judged late at the end of the period
    online: int = 0  # channel 2
    fee_dossiers: int = 0  # dossiers of procedures with a fee (online payment possible)
    paid_online: int = 0  # of those, paid online
    digitised: int = 0
    finished: int = 0  # early + on time + late
    e_results: int = 0  # finished dossiers whose result was returned electronically
    flagged: int = 0  # with a complaint or feedback (phản ánh, kiến nghị)
    procedures: int = 0  # distinct procedures the dossiers used
    procedures_full_online: int = 0  # of those, offered fully online (toàn trình)

    @property
    def judged(self) -> int:
        """Dossiers whose timeliness is known: finished, or overdue already."""
        return self.early + self.on_time + self.late + self.overdue


def rate(part: int, whole: int) -> float | None:
    """Percent, or None when there is nothing to divide by (shown as a dash)."""
    return None if whole <= 0 else 100.0 * part / whole


def scaled(value: float | None, maximum: float, full_at: float) -> float | None:
    """Full points at ``full_at`` percent or more, otherwise value × maximum ÷ full_at."""
    if value is None:
        return None
    return maximum if value >= full_at else round(value * maximum / full_at, 2)


@dataclass(frozen=True)
class Component:
    key: str
    label: str  # English msgid
    formula: str  # English msgid, shown next to the figure
    rate: float | None
    points: float | None
    maximum: float
    full_at: float


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    maximum: float
    components: tuple[Component, ...]

    @property
    def points(self) -> float | None:
        known = [c.points for c in self.components if c.points is not None]
        return round(sum(known), 2) if known else None


@dataclass(frozen=True)
class Scores:
    figures: Figures
    groups: tuple[Group, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float | None:
        known = [g.points for g in self.groups if g.points is not None]
        return round(sum(known), 2) if known else None

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.figures.early + self.figures.on_time, self.figures.judged)

    def component(self, key: str) -> Component:
        return next(c for g in self.groups for c in g.components if c.key == key)


def _component(key: str, label: str, formula: str, value: float | None, maximum: float,
               full_at: float) -> Component:
    return Component(key, label, formula, value, scaled(value, maximum, full_at), maximum,
                     full_at)


def compute(f: Figures) -> Scores:
    """The 766 scores of one set of figures."""
    on_time = rate(f.early + f.on_time, f.judged)
    late_rate = rate(f.late + f.overdue, f.judged)
    flagged_rate = rate(f.flagged, f.received)
    satisfaction: float | None = None
    if late_rate is not None or flagged_rate is not None:
        satisfaction = max(0.0, 100.0 - (late_rate or 0.0) - (flagged_rate or 0.0))
    progress = Group("progress", N_("Processing progress"), PROGRESS_MAX, (
        _component("on_time", N_("On-time rate"),
                   N_("(early + on time) ÷ (finished + overdue) × 20 points"),
                   on_time, PROGRESS_MAX, LINEAR),
    ))
    online = Group("online", N_("Online service"), ONLINE_MAX, (
        _component("procedures_online", N_("Procedures offered fully online"),
                   N_("fully online procedures ÷ procedures used; full 7 points at ≥ 80 %"),
                   rate(f.procedures_full_online, f.procedures), 7.0,
                   PROCEDURES_ONLINE_FULL_AT),
        _component("online_submission", N_("Online submission rate"),
                   N_("online dossiers ÷ received; full 8 points at ≥ 50 %"),
                   rate(f.online, f.received), 8.0, ONLINE_SUBMISSION_FULL_AT),
        _component("online_payment", N_("Online payment rate"),
                   N_("paid online ÷ dossiers with a fee × 7 points"),
                   rate(f.paid_online, f.fee_dossiers), 7.0, LINEAR),
    ))
    digitisation = Group("digitisation", N_("Digitisation"), DIGITISATION_MAX, (
        _component("digitised", N_("Digitisation rate"),
                   N_("digitised dossiers ÷ received; full 11 points at ≥ 80 %"),
                   rate(f.digitised, f.received), 11.0, DIGITISATION_FULL_AT),
        _component("e_results", N_("Electronic results"),
                   N_("results returned electronically ÷ finished × 11 points"),
                   rate(f.e_results, f.finished), 11.0, LINEAR),
    ))
    satisfied = Group("satisfaction", N_("Satisfaction"), SATISFACTION_MAX, (
        _component("satisfaction", N_("Satisfaction"),
                   N_("100 % − late rate − complaint/feedback rate; full 18 points at ≥ 90 %"),
                   satisfaction, SATISFACTION_MAX, SATISFACTION_FULL_AT),
    ))
    return Scores(f, (progress, online, digitisation, satisfied))
