"""Purchase propensity: features without leakage, labels, the time split, the simulation's
drivers, the models against the RFM baseline, reasons, and `crm score`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

import crm.insights.propensity
import crm.tools.simulation
from crm.insights.propensity import (
    FEATURE_NAMES,
    FEATURES,
    Comparison,
    LeakageError,
    PropensityModel,
    Reason,
    TimeSplit,
    compare,
    data_end,
    features,
    labels,
    save_model,
    score_customers,
)
from crm.records.db import make_engine
from crm.records.migrate import upgrade
from crm.records.models import (
    Customer,
    CustomerScore,
    NewsletterSubscription,
    Order,
    Refund,
    Review,
    SupportTicket,
)
from crm.tools.demo import SeedReport
from crm.tools.simulation import simulate

SMALL = 3000  # customers in the shared small simulation: about a second to write


def _simulated(path: Path, customers: int, **kwargs: Any) -> Engine:
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    simulate(engine, customers=customers, **kwargs)
    return engine


@pytest.fixture(scope="module")
def simulation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = _simulated(tmp_path_factory.mktemp("sim") / "sim.db", SMALL, seed=11)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def comparison(simulation: Engine) -> Comparison:
    return compare(simulation, TimeSplit.latest(data_end(simulation)))


@pytest.fixture(scope="module")
def model(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> PropensityModel:
    directory = tmp_path_factory.mktemp("model")
    save_model(comparison, directory)
    return PropensityModel.load(directory)


# --- the split -------------------------------------------------------------------------------


def test_the_split_refuses_a_test_cutoff_inside_the_training_labels_window(
    seed_now: datetime,
) -> None:
    with pytest.raises(LeakageError):
        TimeSplit(seed_now, seed_now + timedelta(days=29, hours=23))
    with pytest.raises(LeakageError):
        TimeSplit(seed_now, seed_now - timedelta(days=60))  # testing on the past
    TimeSplit(seed_now, seed_now + timedelta(days=30))  # the earliest allowed
    latest = TimeSplit.latest(seed_now)
    assert latest.test_cutoff + latest.horizon == seed_now  # test labels complete by the end
    assert latest.train_cutoff + latest.horizon <= latest.test_cutoff


# --- features and labels on the demo records (SQLite and PostgreSQL) ---------------------------


def test_records_after_the_cutoff_change_no_feature(
    engine: Engine, sessions: sessionmaker[Session], seeded: SeedReport, seed_now: datetime
) -> None:
    cutoff = seed_now - timedelta(days=10)
    before = features(engine, cutoff)
    assert before.values.shape == (len(before.customer_ids), len(FEATURE_NAMES))
    assert before.column("orders_ever").sum() > 0
    after = cutoff + timedelta(hours=1)
    with sessions.begin() as session:
        old = session.scalars(
            select(Order).where(Order.placed_at <= cutoff).order_by(Order.id)
        ).first()
        assert old is not None
        customer_id = old.customer_id
        session.add(
            Order(
                number="999001",
                customer_id=customer_id,
                status="placed",
                ship_line1="1 High Street",
                ship_city="Bristol",
                ship_postcode="BS1 1AA",
                ship_country="GB",
                delivery_method="standard",
                placed_at=after,
                total_pence=5000,
                updated_at=after,
            )
        )
        session.add(
            Refund(
                order_id=old.id,
                amount_pence=100,
                status="requested",
                reason="x",
                requested_at=after,
            )
        )
        session.add(
            SupportTicket(
                reference="TK-LATE01",
                customer_id=customer_id,
                conversation_id="late",
                category="delivery",
                subject="This is awful and terrible",
                created_at=after,
            )
        )
        session.add(
            Review(
                reference="RV-LATE01",
                customer_id=customer_id,
                rating=1,
                comment="",
                conversation_id="late",
                created_at=after,
            )
        )
        session.add(
            NewsletterSubscription(
                email="late@example.com",
                customer_id=customer_id,
                subscribed=True,
                changed_at=after,
                source="test",
            )
        )
        session.add(
            Customer(
                first_name="Late", last_name="Comer", email="late@example.com", created_at=after
            )
        )
        # An order cancelled after the cut-off was not cancelled at it.
        session.execute(
            update(Order).where(Order.id == old.id).values(status="cancelled", cancelled_at=after)
        )
    again = features(engine, cutoff)
    assert np.array_equal(before.customer_ids, again.customer_ids)
    assert np.array_equal(before.values, again.values)
    assert not np.array_equal(before.values, features(engine, after).values)  # it does count later


def test_the_label_is_an_order_in_the_30_days_after_the_cutoff(
    engine: Engine, seeded: SeedReport, seed_now: datetime
) -> None:
    with engine.connect() as db:
        placed = db.execute(select(Order.customer_id, Order.placed_at)).all()
    cutoff = min(at for _, at in placed) - timedelta(seconds=1)
    table = features(engine, cutoff)
    y = labels(engine, table)
    window = {c for c, at in placed if cutoff < at <= cutoff + timedelta(days=30)}
    assert window  # the first order is in the window
    assert {int(c) for c, v in zip(table.customer_ids, y, strict=True) if v} == window & {
        int(c) for c in table.customer_ids
    }


# --- the simulation --------------------------------------------------------------------------


def _orders(engine: Engine, subscribers_only: bool = False) -> int:
    query = select(func.count(Order.id))
    if subscribers_only:
        query = query.join(
            NewsletterSubscription, NewsletterSubscription.customer_id == Order.customer_id
        )
    with engine.connect() as db:
        return int(db.scalar(query) or 0)


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_the_simulation_is_seeded_and_writes_every_kind_of_record(
    simulation: Engine, tmp_path: Path
) -> None:
    with simulation.connect() as db:
        counts = {
            model.__tablename__: db.scalar(select(func.count()).select_from(model))
            for model in (Customer, Order, Refund, SupportTicket, Review, NewsletterSubscription)
        }
    assert counts["customers"] == SMALL
    assert all(counts.values()), counts
    again = _simulated(tmp_path / "again.db", SMALL, seed=11)
    assert _orders(again) == counts["orders"]
    again.dispose()


@pytest.mark.slow  # simulates customers (and trains on them): seconds
@pytest.mark.parametrize(
    ("driver", "neutral", "effect"),
    [
        ("ENGAGEMENT_GAIN", 0.0, "habit raises buying"),
        ("DISSATISFACTION_WEIGHT", 0.0, "unhappiness lowers buying"),
        ("CAMPAIGN_BOOST", 1.0, "campaigns raise subscribers' buying"),
    ],
)
def test_each_driver_moves_buying_the_intended_way(
    driver: str, neutral: float, effect: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscribers = driver == "CAMPAIGN_BOOST"
    real = _simulated(tmp_path / "real.db", 1000, seed=5)
    monkeypatch.setattr(crm.tools.simulation, driver, neutral)
    without = _simulated(tmp_path / "without.db", 1000, seed=5)
    with_driver, without_driver = _orders(real, subscribers), _orders(without, subscribers)
    real.dispose()
    without.dispose()
    if driver == "DISSATISFACTION_WEIGHT":
        assert with_driver < 0.97 * without_driver, effect
    else:
        assert with_driver > 1.05 * without_driver, effect


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_recent_buyers_buy_again_more_often_in_the_records(simulation: Engine) -> None:
    split = TimeSplit.latest(data_end(simulation))
    table = features(simulation, split.test_cutoff)
    y = labels(simulation, table)
    recent = table.column("orders_30d") > 0
    assert y[recent].mean() > 2 * y[~recent].mean()


# --- models and reasons ----------------------------------------------------------------------


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_lightgbm_beats_chance_and_the_rfm_heuristic(comparison: Comparison) -> None:
    by_name = {m.model: m for m in comparison.metrics}
    gbm, rfm = by_name["LightGBM"], by_name["RFM heuristic"]
    assert gbm.roc_auc > 0.75
    assert gbm.roc_auc > rfm.roc_auc
    assert gbm.lift_top_decile > 2
    assert 0 < gbm.brier < 0.25
    assert comparison.train_rows > 0 and comparison.test_rows > 0


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_reasons_are_the_three_strongest_readable_contributions(
    model: PropensityModel, simulation: Engine
) -> None:
    table = features(simulation, TimeSplit.latest(data_end(simulation)).test_cutoff)
    rows = table.values[:20]
    reasons = model.reasons(rows)
    assert len(reasons) == 20
    for values, found in zip(rows, reasons, strict=True):
        assert len(found) == 3
        assert all(isinstance(r, Reason) and r.feature in FEATURES.values() for r in found)
        effects = [abs(r.effect) for r in found]
        assert effects == sorted(effects, reverse=True)
        for r in found:
            name = next(k for k, v in FEATURES.items() if v == r.feature)
            assert r.value == pytest.approx(values[FEATURE_NAMES.index(name)], abs=0.01)
    scores = model.scores(rows)
    assert ((scores >= 0) & (scores <= 1)).all()


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_a_model_of_other_features_is_refused(comparison: Comparison) -> None:
    with pytest.raises(crm.insights.propensity.ModelMismatch):
        PropensityModel(comparison.booster, {"features": ["recency"], "version": "x"})


# --- crm score ----------------------------------------------------------------------------------


class _Broken(PropensityModel):
    """Fails on its last row, after some rows were inserted."""

    def reasons(self, values: Any, top: int = 3) -> list[list[Reason]]:
        found = super().reasons(values, top)
        if len(values) < 5:
            found[-1] = [Reason("unstorable", float("nan"), object())]  # type: ignore[arg-type]
        return found


@pytest.mark.slow  # simulates customers (and trains on them): seconds
def test_score_writes_one_row_per_active_customer_in_one_transaction(
    engine: Engine,
    sessions: sessionmaker[Session],
    seeded: SeedReport,
    seed_now: datetime,
    model: PropensityModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with sessions.begin() as session:
        session.execute(update(Customer).where(Customer.id == 1).values(status="erased"))
        active = set(session.scalars(select(Customer.id).where(Customer.status == "active")))
    assert score_customers(engine, model, at=seed_now) == len(active)
    assert score_customers(engine, model, at=seed_now) == len(active)  # replaced, not added
    with sessions() as session:
        rows = list(session.scalars(select(CustomerScore)))
    assert {row.customer_id for row in rows} == active
    assert all(0 <= row.score <= 1 and len(row.reasons) == 3 for row in rows)
    assert {row.model_version for row in rows} == {model.version}
    assert all(row.scored_at == seed_now for row in rows)
    assert set(rows[0].reasons[0]) == {"feature", "value", "effect"}

    # A failure half-way leaves the previous scores, all of them.
    monkeypatch.setattr(crm.insights.propensity, "BATCH", 4)
    broken = _Broken(model.booster, model.manifest)
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises
        score_customers(engine, broken, at=seed_now + timedelta(days=1))
    with sessions() as session:
        kept = list(session.scalars(select(CustomerScore)))
    assert len(kept) == len(active) and all(row.scored_at == seed_now for row in kept)
