"""One simulated day for the whole population, vectorised: behaviour in, event rows out.

A customer's day follows from static traits (``sim.population``) and a few multipliers:
weekday or weekend, calendar season, the churn trajectory's progress, decoy windows and
area outages. The only state carried from day to day is when each customer next tops up
and which plan (and fee) they are on, so memory does not grow with the number of days.
Customers who join during history say nothing before their activation.
"""

from __future__ import annotations

from datetime import UTC, timedelta

import numpy as np
import numpy.typing as npt

from schemas.events import ComplaintCategory
from sim.population import CATEGORIES, CHANNELS, SECONDS_PER_DAY, Decoy, Population, Signal
from sim.table import (
    FLAG_DROPPED,
    FLAG_RESOLVED,
    FLAG_ROAMING,
    KIND_CALL,
    KIND_COMPLAINT,
    KIND_LIFECYCLE,
    KIND_TOPUP,
    EventTable,
)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

LIFECYCLE_KINDS = ("activated", "plan_changed", "port_out", "deactivated", "reactivated", "profile")
TOPUP_CHANNELS = tuple(channel.value for channel in CHANNELS)
COMPLAINT_CHANNELS = ("hotline", "store", "app", "social", "regulator")
PAYMENT_TYPES = ("prepaid", "postpaid")

_VOUCHERS = np.asarray([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 75.0, 100.0, 150.0, 200.0])
_PLAN_CHANGED = LIFECYCLE_KINDS.index("plan_changed")
_PROFILE = LIFECYCLE_KINDS.index("profile")
_HOUR_BANDS = np.asarray([0] * 7 + [1] * 11 + [2] * 6)  # night 0-6, day 7-17, evening 18-23


def _hour_cdf(weights: tuple[float, float, float]) -> Floats:
    """Cumulative hour-of-day distribution from band weights, spread evenly within a band.

    >>> cdf = _hour_cdf((0.0, 1.0, 0.0))
    >>> round(float(cdf[6]), 6), round(float(cdf[17]), 6)
    (0.0, 1.0)
    """
    band_hours = np.bincount(_HOUR_BANDS, minlength=3)
    per_hour = np.asarray(weights)[_HOUR_BANDS] / band_hours[_HOUR_BANDS]
    cdf: Floats = np.cumsum(per_hour) / per_hour.sum()
    return cdf


class DayGenerator:
    """Produces each day's events in event-time terms; ``seq`` numbers are assigned by the caller."""

    def __init__(self, population: Population, seed: int) -> None:
        self._pop = population
        self._seed = seed
        pop = population
        segments = pop.config.segments
        self._start_s = int(pop.start.astimezone(UTC).timestamp())
        self._weekday_cdf = [
            _hour_cdf((s.weekday_rhythm.night, s.weekday_rhythm.day, s.weekday_rhythm.evening))
            for s in segments
        ]
        self._weekend_cdf = [
            _hour_cdf((s.weekend_rhythm.night, s.weekend_rhythm.day, s.weekend_rhythm.evening))
            for s in segments
        ]
        self._weekend_factor = np.asarray([s.weekend_factor for s in segments])
        self._mean_call_s = np.asarray([s.mean_call_s for s in segments])
        self._contacts = np.asarray([s.contacts for s in segments], dtype=np.int64)
        self._international = np.asarray([s.international_share for s in segments])
        self._roaming = np.asarray([s.roaming_share for s in segments])
        self._complaint_cdf = np.stack(
            [
                np.cumsum([s.complaint_mix.get(c, 0.0) for c in CATEGORIES]) / sum(s.complaint_mix.values())
                for s in segments
            ]
        )
        plan_segment = np.concatenate([np.full(len(s.plans), i) for i, s in enumerate(segments)])
        plan_offset = np.cumsum([0] + [len(s.plans) for s in segments[:-1]])
        self._plan_first = plan_offset[plan_segment]
        self._plan_count = np.asarray([len(s.plans) for s in segments])[plan_segment]
        rng = np.random.default_rng([seed, 0x70F])
        self._current_plan = pop.plan.copy()
        self._current_fee = pop.monthly_fee.copy()
        self._next_topup_day = np.where(
            pop.prepaid, rng.random(pop.size) * pop.topup_gap_days, rng.random(pop.size) * 30.0
        ) + np.maximum(pop.activation_day, 0.0)
        self._channel_cdf = np.zeros((len(segments), 2, len(CHANNELS)))
        for index, s in enumerate(segments):
            for payment, mix in enumerate((s.prepaid_channels, s.postpaid_channels)):
                weights = np.asarray([mix.get(channel, 0.0) for channel in CHANNELS])
                self._channel_cdf[index, payment] = np.cumsum(weights) / weights.sum()
                self._channel_cdf[index, payment, -1] = 1.0
        self._activation_s = np.floor(self._start_s + pop.activation_day * SECONDS_PER_DAY).astype(np.int64)
        self._churn_s = self._start_s + pop.churn_day * SECONDS_PER_DAY
        self._reactivation_s = self._start_s + pop.reactivation_day * SECONDS_PER_DAY

    def day_start_s(self, day: int) -> int:
        """Epoch seconds of midnight (UTC) starting ``day``."""
        return self._start_s + day * SECONDS_PER_DAY

    def generate(self, day: int) -> EventTable:
        """Every event whose event time falls on ``day``, unsorted, ``seq`` still zero."""
        rng = np.random.default_rng([self._seed, 0xDA7, day])
        progress = self._trajectory_progress(day + 0.5)
        level = self._activity_level(day, progress)
        tables = [
            self._lifecycle(rng, day),
            self._topups(rng, day, progress, level),
            self._complaints(rng, day, progress),
            self._calls(rng, day, progress, level),
        ]
        return self._drop_while_churned(EventTable.concat(tables))

    def _trajectory_progress(self, day: float) -> Floats:
        """0 before a churner's trajectory starts, rising to 1 at churn (curved by ``shape``)."""
        pop = self._pop
        with np.errstate(invalid="ignore", divide="ignore"):
            linear = (day - pop.trajectory_start_day) / (pop.churn_day - pop.trajectory_start_day)
        linear = np.nan_to_num(np.clip(linear, 0.0, 1.0), nan=0.0)
        linear[day >= pop.reactivation_day] = 0.0
        progress: Floats = linear**pop.shape
        return progress

    def _decoy_window(self, day: int, kind: Decoy) -> npt.NDArray[np.bool_]:
        pop = self._pop
        inside: npt.NDArray[np.bool_] = (
            (pop.decoy == kind) & (day >= pop.decoy_start_day) & (day + 1 <= pop.decoy_end_day)
        )
        return inside

    def _in_outage(self, day: int) -> npt.NDArray[np.bool_]:
        pop = self._pop
        hit = np.zeros(pop.size, dtype=bool)
        for outage in pop.outages:
            if outage.start_day < day + 1 and day < outage.end_day:
                hit |= pop.area == outage.area
        return hit

    def _season_factor(self, day: int) -> float:
        date = (self._pop.start + timedelta(days=day)).strftime("%m-%d")
        factor = 1.0
        for first, last, dip in self._pop.config.seasonal_dips:
            inside = first <= date <= last if first <= last else date >= first or date <= last
            if inside:
                factor *= dip
        return factor

    def _activity_level(self, day: int, progress: Floats) -> Floats:
        """Expected usage relative to the customer's own normal, before daily noise."""
        pop = self._pop
        level = np.full(pop.size, self._season_factor(day))
        declining = (pop.signals & Signal.USAGE) != 0
        level[declining] *= 1.0 - pop.strength[declining] * progress[declining]
        dipping = self._decoy_window(day, Decoy.DIP_RECOVER) | self._decoy_window(day, Decoy.HOLIDAY)
        level[dipping] *= pop.decoy_depth[dipping]
        level[self._in_outage(day)] *= pop.config.outage_usage
        level[day >= pop.reactivation_day] *= pop.config.reactivated_usage
        return level

    def _calls(self, rng: np.random.Generator, day: int, progress: Floats, level: Floats) -> EventTable:
        pop = self._pop
        weekend = (pop.start + timedelta(days=day)).weekday() >= 5
        rate = pop.call_rate * level * rng.lognormal(-0.045, 0.3, pop.size)
        if weekend:
            rate *= self._weekend_factor[pop.segment]
        counts = rng.poisson(rate)
        customer = np.repeat(np.arange(pop.size, dtype=np.int64), counts)
        size = customer.shape[0]
        segment = pop.segment[customer]

        second = rng.integers(0, 3600, size)
        hour = np.zeros(size, dtype=np.int64)
        uniform = rng.random(size)
        cdfs = self._weekend_cdf if weekend else self._weekday_cdf
        for index, cdf in enumerate(cdfs):
            chosen = segment == index
            hour[chosen] = np.minimum(np.searchsorted(cdf, uniform[chosen], side="right"), 23)
        time_s = self.day_start_s(day) + hour * 3600 + second

        config = pop.config
        incoming = rng.random(size) >= config.outgoing_share
        mean_s = self._mean_call_s[segment]
        duration_s = rng.lognormal(np.log(mean_s) - 0.405, 0.9)

        contacts = self._contacts[segment]
        slot = (contacts * rng.random(size) ** 2).astype(np.int64)
        one_off = rng.random(size) < config.one_off_share
        slot[one_off] = 1000 + rng.integers(0, 1_000_000, int(one_off.sum()))
        number = (customer * 2_654_435_761 + slot * 97_531 + 12_345) % 10_000_000
        network = np.where((number * 7 + slot) % 1000 < pop.on_net_permille[customer], 0, 1).astype(np.int8)
        shifting = (pop.signals[customer] & Signal.OFF_NET) != 0
        shift_p = np.where(shifting, config.off_net_shift * pop.strength[customer] * progress[customer], 0.0)
        moved = rng.random(size) < shift_p
        new_slot = contacts[moved] + rng.integers(0, 5, int(moved.sum()))
        number[moved] = (customer[moved] * 2_654_435_761 + new_slot * 97_531 + 777) % 10_000_000
        network[moved] = 1
        network[rng.random(size) < self._international[segment]] = 2

        holiday = self._decoy_window(day, Decoy.HOLIDAY)[customer]
        roaming = rng.random(size) < np.where(holiday, config.holiday_roaming_share, self._roaming[segment])
        drop_p = pop.area_drop_rate[pop.area[customer]]
        drop_p = np.where(self._in_outage(day)[customer], drop_p * config.outage_drop_factor, drop_p)
        network_trouble = (
            ((pop.signals[customer] & Signal.COMPLAINTS) != 0)
            & (pop.burst_category[customer] == CATEGORIES.index(ComplaintCategory.NETWORK))
            & (progress[customer] > 0)
        )
        drop_p = np.where(network_trouble, drop_p * config.network_trouble_drop_factor, drop_p)
        dropped = rng.random(size) < np.minimum(drop_p, 0.6)
        duration_s[dropped] *= rng.uniform(0.05, 0.6, int(dropped.sum()))
        duration_s = np.round(np.minimum(duration_s, 86_400.0), 1)

        rate_per_minute = np.asarray(config.call_rate_per_minute)  # on_net, off_net, international
        per_minute = rate_per_minute[network] + np.where(roaming, config.roaming_rate_per_minute, 0.0)
        billed = ~incoming & (pop.prepaid[customer] | (network == 2) | roaming)
        charge = np.where(billed, np.round(duration_s / 60.0 * per_minute, 2), 0.0)
        flags = np.where(dropped, FLAG_DROPPED, 0) | np.where(roaming, FLAG_ROAMING, 0)
        return EventTable.build(
            size,
            KIND_CALL,
            time_s=time_s,
            customer=customer,
            code_a=incoming,
            code_b=network,
            code_c=flags,
            amount=duration_s,
            charge=charge,
            number=number,
        )

    def _topups(self, rng: np.random.Generator, day: int, progress: Floats, level: Floats) -> EventTable:
        """Prepaid vouchers at the usual gap, bill payments monthly; churners stretch and shrink."""
        pop = self._pop
        due = np.flatnonzero(self._next_topup_day < day + 1)
        count = due.shape[0]
        prepaid = pop.prepaid[due]
        hour = np.where(prepaid, rng.integers(8, 22, count), rng.integers(2, 7, count))
        time_s = self.day_start_s(day) + hour * 3600 + rng.integers(0, 3600, count)

        fading = (pop.signals[due] & Signal.TOPUPS) != 0
        fade = np.where(fading, pop.strength[due] * progress[due], 0.0)
        consumption = np.clip(level[due] * (1.0 - pop.config.topup_fade * fade), 0.1, 1.5)
        gap = pop.topup_gap_days[due]
        voucher = pop.monthly_spend[due] * gap / 30.0 * (1.0 - 0.4 * fade)
        slot = np.minimum(np.searchsorted(_VOUCHERS, voucher), _VOUCHERS.shape[0] - 1)
        voucher = np.where(voucher > _VOUCHERS[-1], np.round(voucher, -1), _VOUCHERS[slot])
        bill = pop.monthly_spend[due] * rng.uniform(0.92, 1.08, count)
        bill *= (0.7 + 0.3 * np.minimum(consumption, 1.0)) * (1.0 - 0.5 * fade)
        amount = np.minimum(np.where(prepaid, voucher, np.round(bill, 2)), 100_000.0)
        amount = np.maximum(amount, 0.01)

        # mostly the customer's usual channel, otherwise any of the segment's channels
        cdf = self._channel_cdf[pop.segment[due], np.where(prepaid, 0, 1)]
        other = np.argmax(rng.random(count)[:, None] < cdf, axis=1)
        usual = rng.random(count) < pop.config.usual_channel_share
        channel = np.where(usual, pop.topup_channel[due], other)
        next_gap = np.where(
            prepaid, gap * rng.gamma(8.0, 1.0 / 8.0, count) / consumption, 30.0 + rng.normal(0, 0.5, count)
        )
        self._next_topup_day[due] = np.maximum(self._next_topup_day[due], day) + np.maximum(next_gap, 1.0)
        return EventTable.build(
            count,
            KIND_TOPUP,
            time_s=time_s,
            customer=due,
            code_a=channel,
            amount=amount,
        )

    def _complaints(self, rng: np.random.Generator, day: int, progress: Floats) -> EventTable:
        """Background complaints, outage complaints (network) and churners' bursts."""
        pop = self._pop
        everyone = np.arange(pop.size)
        background = np.flatnonzero(rng.random(pop.size) < pop.complaint_rate)
        outage_p = pop.config.outage_complaints_per_day
        outage = np.flatnonzero(self._in_outage(day) & (rng.random(pop.size) < outage_p))
        bursting = ((pop.signals & Signal.COMPLAINTS) != 0) & (progress > 0.1)
        base, slope = pop.config.burst_per_day
        burst_p = np.where(bursting, base + slope * pop.strength * progress, 0.0)
        burst = everyone[rng.random(pop.size) < burst_p]

        background_category = np.argmax(
            rng.random(background.shape[0])[:, None] < self._complaint_cdf[pop.segment[background]],
            axis=1,
        )
        customer = np.concatenate([background, outage, burst])
        category = np.concatenate(
            [
                background_category,
                np.full(outage.shape[0], CATEGORIES.index(ComplaintCategory.NETWORK)),
                pop.burst_category[burst],
            ]
        )
        count = customer.shape[0]
        n_plain = background.shape[0]
        severity = np.concatenate(
            [
                rng.choice(np.arange(1, 6), size=n_plain, p=[0.35, 0.3, 0.2, 0.1, 0.05]),
                rng.choice(np.arange(1, 6), size=count - n_plain, p=[0.1, 0.25, 0.3, 0.25, 0.1]),
            ]
        )
        drawn_channel = rng.choice(5, size=count, p=[0.45, 0.15, 0.25, 0.14, 0.01])
        channel = np.where((severity == 5) & (rng.random(count) < 0.3), 4, drawn_channel)
        resolved = rng.random(count) < np.where(np.arange(count) < n_plain, 0.6, 0.3)
        time_s = self.day_start_s(day) + rng.integers(8 * 3600, 21 * 3600, count)
        return EventTable.build(
            count,
            KIND_COMPLAINT,
            time_s=time_s,
            customer=customer,
            code_a=category,
            code_b=severity,
            code_c=channel | np.where(resolved, FLAG_RESOLVED, 0),
        )

    def _lifecycle(self, rng: np.random.Generator, day: int) -> EventTable:
        """Go-live profiles, activations of joiners, churn at its exact moment, returns, plan changes."""
        pop = self._pop
        tables = []
        if day == 0:
            standing = np.flatnonzero(~pop.joins_during_history())
            go_live_s = np.full(standing.shape[0], self.day_start_s(0))
            tables.append(self._with_profile(standing, _PROFILE, go_live_s))
        joining = np.flatnonzero(np.floor(pop.activation_day) == day)
        tables.append(
            self._with_profile(joining, LIFECYCLE_KINDS.index("activated"), self._activation_s[joining])
        )
        churning = np.flatnonzero(np.floor(pop.churn_day) == day)
        tables.append(
            EventTable.build(
                churning.shape[0],
                KIND_LIFECYCLE,
                time_s=self._churn_s[churning].astype(np.int64),
                customer=churning,
                code_a=np.where(pop.port_out[churning], 2, 3),
                code_b=np.full(churning.shape[0], -1),
                code_c=np.full(churning.shape[0], -1),
                code_d=np.full(churning.shape[0], -1),
            )
        )
        returning = np.flatnonzero(np.floor(pop.reactivation_day) == day)
        tables.append(
            self._with_profile(
                returning,
                LIFECYCLE_KINDS.index("reactivated"),
                self._reactivation_s[returning].astype(np.int64),
            )
        )
        if day > 0:
            drawn = rng.random(pop.size) < pop.config.plan_change_per_year / 365.0
            changing = np.flatnonzero(drawn & (pop.activation_day + 1.0 <= day))
            plan = self._current_plan[changing]
            first = self._plan_first[plan]
            new_plan = first + (plan - first + 1) % self._plan_count[plan]
            self._current_plan[changing] = new_plan
            self._current_fee[changing] = np.round(pop.plan_fees[new_plan] * pop.fee_factor[changing], 2)
            time_s = self.day_start_s(day) + rng.integers(9 * 3600, 18 * 3600, changing.shape[0])
            tables.append(self._with_profile(changing, _PLAN_CHANGED, time_s))
        return EventTable.concat(tables)

    def _with_profile(self, customer: Ints, kind: int, time_s: npt.ArrayLike) -> EventTable:
        """Lifecycle rows carrying the customer's standing facts: plan, payment type, fee,
        commitment, bundles and activation time (see ``sim.table`` for the columns)."""
        pop = self._pop
        payment = np.where(pop.prepaid[customer], 0, 1)
        return EventTable.build(
            customer.shape[0],
            KIND_LIFECYCLE,
            time_s=time_s,
            customer=customer,
            code_a=np.full(customer.shape[0], kind),
            code_b=self._current_plan[customer],
            code_c=payment + 2 * pop.bundled_services[customer].astype(np.int64),
            code_d=pop.commitment_months[customer],
            amount=self._current_fee[customer],
            number=self._activation_s[customer],
        )

    def _drop_while_churned(self, table: EventTable) -> EventTable:
        """A churned customer is silent until reactivated, its churn and return events kept;
        a joiner is silent before its activation."""
        customer = table.customer
        gone = (table.time_s >= self._churn_s[customer]) & (table.time_s < self._reactivation_s[customer])
        gone &= (table.kind != KIND_LIFECYCLE) | (table.code_a == _PLAN_CHANGED)
        gone |= table.time_s < self._activation_s[customer]
        return table.take(~gone)
