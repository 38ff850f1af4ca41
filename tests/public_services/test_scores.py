"""Decision 766 scores from figures, checked against hand-computed values."""

from __future__ import annotations

import pytest

from cityops.services.public_services.scores import COMPUTED_MAX, Figures, compute, scaled


def test_no_dossiers_gives_no_scores_rather_than_zero() -> None:
    scores = compute(Figures())
    assert scores.total is None
    assert scores.on_time_rate is None
    assert all(c.rate is None and c.points is None
               for g in scores.groups for c in g.components)


def test_a_mixed_agency_by_hand() -> None:
    figures = Figures(received=10, early=2, on_time=5, late=2, overdue=1, online=5,
                      fee_dossiers=4, paid_online=2, digitised=8, finished=9, e_results=3,
                      flagged=1, procedures=5, procedures_full_online=2)
    s = compute(figures)
    # on time: 7 of 10 judged (9 finished + 1 overdue) = 70 % → 70 × 20 / 100
    assert s.component("on_time").rate == pytest.approx(70.0)
    assert s.component("on_time").points == 14.0
    # 2 of 5 procedures fully online = 40 % → 40 × 7 / 80
    assert s.component("procedures_online").points == 3.5
    # 5 of 10 online = 50 %: the threshold, full 8 points
    assert s.component("online_submission").points == 8.0
    # 2 of 4 fee dossiers paid online = 50 % → 50 × 7 / 100
    assert s.component("online_payment").points == 3.5
    # 8 of 10 digitised = 80 %: full 11 points
    assert s.component("digitised").points == 11.0
    # 3 of 9 finished returned electronically = 33.33 % → 3.67
    assert s.component("e_results").points == 3.67
    # satisfaction 100 − 30 (late + overdue) − 10 (flagged) = 60 % → 60 × 18 / 90
    assert s.component("satisfaction").rate == pytest.approx(60.0)
    assert s.component("satisfaction").points == 12.0
    assert [g.points for g in s.groups] == [14.0, 15.0, 14.67, 12.0]
    assert s.total == 55.67


def test_everything_perfect_reaches_the_computed_maximum() -> None:
    figures = Figures(received=4, early=2, on_time=2, online=4, fee_dossiers=4, paid_online=4,
                      digitised=4, finished=4, e_results=4, procedures=1,
                      procedures_full_online=1)
    s = compute(figures)
    assert s.on_time_rate == 100.0
    assert s.total == COMPUTED_MAX == 82.0


@pytest.mark.parametrize(("value", "full_at", "points"), [
    (49.0, 50.0, 7.84),  # just under the online-submission threshold: 49 × 8 / 50
    (50.0, 50.0, 8.0),
    (79.0, 80.0, 7.9),  # 79 × 8 / 80
    (80.0, 80.0, 8.0),
    (95.0, 90.0, 8.0),  # above the threshold never gives more than the maximum
    (0.0, 90.0, 0.0),
])
def test_thresholds_scale_linearly_below_and_cap_at_the_maximum(
        value: float, full_at: float, points: float) -> None:
    assert scaled(value, 8.0, full_at) == points


def test_satisfaction_thresholds_and_floor() -> None:
    # 10 % late, no complaints: satisfaction 90 %, exactly the threshold → full 18
    s = compute(Figures(received=10, on_time=9, late=1, finished=10))
    assert s.component("satisfaction").points == 18.0
    # 100 % late and every dossier flagged: 100 − 100 − 100 floors at 0, not below
    s = compute(Figures(received=2, late=2, finished=2, flagged=2))
    assert s.component("satisfaction").rate == 0.0
    assert s.component("satisfaction").points == 0.0
    assert s.component("on_time").points == 0.0


def test_dossiers_still_in_term_do_not_count_as_judged() -> None:
    # Received but neither finished nor overdue: timeliness unknown, no progress score.
    s = compute(Figures(received=3, online=3))
    assert s.component("on_time").rate is None
    assert s.component("online_submission").points == 8.0
    assert s.total == 8.0 + 18.0  # satisfaction from a 0 % complaint rate
