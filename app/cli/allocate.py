"""``chargeplan allocate``: share a site's circuits among its charging sessions.

Reads a site (``{"at", "supply_voltage_v", "nodes": [...], "sessions": [...]}``) from a
file or stdin ('-') and prints every session's limit, its binding constraint and safe
share, and every node's per-phase load and headroom at ``at``; with ``--horizon`` each
session also gets its periods until then. Exit status 0 on success, 2 on invalid input
(one line per problem on stderr, naming the field).

Planning ahead: a session may say what it still needs (``"energy_kwh"`` by
``"departure"``) and be wired ``"wiring": "line-to-line"`` (``phases`` then names its two
lines; ``supply_voltage_v`` stays the line-to-neutral voltage); a node may be a delta-wye
``"transformer": {"ratio": N}``; the site may give ``"step_s"`` (900), ``"horizon_s"``
(86400), ``"prices": [{"from", "to", "price_per_kwh"}]``, ``"demand_charge_per_kw"`` and
``"peak_so_far_kw"``; ``"fine_step_s"`` with ``"fine_horizon_s"`` makes the slots of the
first ``fine_horizon_s`` that short (graded slots: fine where the plan is sent soon).
When any session has a need, the planner decides: each session's ``limit_a`` is for the
slot starting at ``at``; a session with a need also gets
``periods``, ``planned_kwh`` (by its departure), ``shortfall_kwh`` and ``need_source``;
the site gets ``planned_cost``, ``planned_peak_kw`` and ``decided_by`` (``"planner"`` or
``"water level: <why>"``).

``--lines`` (instead of ``--site``) keeps running: one site JSON per line of standard
input, one answer per line of standard output; a line that cannot be solved is answered
``{"error": [...]}`` and the next line is read.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.domain.allocation import (
    PHASES,
    Allocation,
    Circuit,
    LimitWindow,
    Period,
    Session,
    Site,
    allocate,
    circuit_shares,
    safe_share,
    timeline,
)
from app.domain.lp import Solver
from app.domain.phasors import LINE_TO_LINE, LINE_TO_NEUTRAL, Grid, line_loads
from app.domain.planner import (
    Horizon,
    Need,
    Plan,
    PlanRequest,
    PricePeriod,
    Tariff,
    plan,
    safe_site,
)
from app.domain.profiles import format_datetime, parse_datetime

EXIT_INVALID = 2


class InvalidSite(Exception):
    """The site cannot be solved; ``messages`` says why, one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "allocate",
        help="share a site's grid connection among its charging sessions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--site", help="JSON file of the site, '-' for stdin")
    source.add_argument(
        "--lines", action="store_true",
        help="keep reading one site JSON per stdin line, answer one JSON per stdout line",
    )
    parser.add_argument(
        "--horizon", type=_horizon, help="also give each session's periods for SECONDS"
    )
    parser.add_argument(
        "--time-limit", type=float, default=2.0, metavar="SECONDS",
        help="the planner's solver budget per site; past it the water level decides",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.lines:
        return run_lines(sys.stdin, sys.stdout, args.horizon, args.time_limit)
    try:
        answer = answer_site(_load(args.site), datetime.now(UTC), args.horizon, args.time_limit)
    except InvalidSite as error:
        for message in error.messages:
            print(message, file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(answer, indent=2))
    return 0


def answer_site(
    data: Any, now: datetime, horizon_s: int | None = None, time_limit_s: float = 2.0,
    solver: Solver | None = None,
) -> dict[str, Any]:
    """The answer to one parsed site JSON (what ``--site`` prints and ``--lines`` writes);
    raises :class:`InvalidSite`. ``solver``: the planner's (a long-running caller passes
    one :class:`~app.domain.lp_highs.HighsSolver` to warm-start its re-plans)."""
    request, horizon_given = read_request(data, now=now, time_limit_s=time_limit_s)
    if horizon_s is not None:
        request = replace(request, horizon=replace(request.horizon, horizon_s=horizon_s))
    site = safe_site(request.site, request.grid)
    if not request.needs:
        # No session needs anything: the water level's answer, as before planning existed.
        if horizon_s is None:
            return render(allocate(site, request.at))
        solved, periods = timeline(site, request.at, horizon_s)
        return render(solved, periods)
    return render_plan(request, plan(request, solver), horizon_s is not None or horizon_given)


def run_lines(source: Any, sink: Any, horizon_s: int | None, time_limit_s: float) -> int:
    """One answer per line of ``source`` until it ends; bad lines answer ``{"error"}``.
    One solver serves every line, so a re-plan starts from the last one's basis."""
    from app.domain.lp_highs import HighsSolver

    solver = HighsSolver()
    for line in source:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            answer: dict[str, Any] = {"error": [f"line: not JSON: {error}"]}
        else:
            try:
                answer = answer_site(data, datetime.now(UTC), horizon_s, time_limit_s, solver)
            except InvalidSite as error:
                answer = {"error": error.messages}
            except ValueError as error:
                answer = {"error": [str(error)]}
            except Exception as error:  # noqa: BLE001 - one bad site must not end the stream
                answer = {"error": [f"cannot solve: {type(error).__name__}: {error}"]}
        sink.write(json.dumps(answer, separators=(",", ":")) + "\n")
        sink.flush()
    return 0


def render_plan(request: PlanRequest, planned: Plan, all_periods: bool) -> dict[str, Any]:
    """The planner's answer: today's fields, and the plan's (see the module doc)."""
    site = request.site
    water = allocate(safe_site(site, request.grid), request.at)
    shares = circuit_shares(site, request.at)
    sessions: dict[str, Any] = {}
    for session in site.sessions:
        share = planned.sessions[session.id]
        by_planner = planned.decided_by == "planner"
        entry: dict[str, Any] = {
            "limit_a": share.limit_a,
            "binding": "plan" if by_planner else water.sessions[session.id].binding,
            "safe_share_a": safe_share(shares[session.circuit],
                                       math.ceil(session.min_current_a * 10 - 1e-6) / 10),
        }
        need = request.needs.get(session.id)
        if need is not None or all_periods:
            entry["periods"] = [
                {"start_s": p.start_s, "limit_a": p.limit_a} for p in share.periods]
        if need is not None:
            entry["planned_kwh"] = share.planned_kwh
            entry["shortfall_kwh"] = share.shortfall_kwh
            entry["need_source"] = "request"
        sessions[session.id] = entry
    currents = {k: v.limit_a for k, v in planned.sessions.items()}
    loads = line_loads(site, request.grid, currents)
    nodes = {}
    for circuit in site.circuits:
        limit, _ = circuit.limits_at(request.at)
        load = [abs(loads[circuit.id][p]) for p in range(3)]
        nodes[circuit.id] = {
            "load_a": [_round1(v) for v in load],
            "headroom_a": [_round1(limit[p] - circuit.margin_a - load[p]) for p in range(3)],
        }
    return {
        "at": format_datetime(request.at),
        "sessions": sessions,
        "nodes": nodes,
        "planned_cost": planned.planned_cost,
        "planned_peak_kw": planned.planned_peak_kw,
        "decided_by": planned.decided_by,
    }


def _round1(value: float) -> float:
    return math.floor(value * 10 + 0.5 + 1e-9) / 10 + 0.0


def render(
    solved: Allocation, periods: Mapping[str, tuple[Period, ...]] | None = None
) -> dict[str, Any]:
    """The output contract: sessions by id, then nodes by id, in input order."""
    sessions: dict[str, Any] = {}
    for session_id, share in solved.sessions.items():
        entry: dict[str, Any] = {
            "limit_a": share.limit_a,
            "binding": share.binding,
            "safe_share_a": share.safe_share_a,
        }
        if periods is not None:
            entry["periods"] = [
                {"start_s": p.start_s, "limit_a": p.limit_a} for p in periods[session_id]
            ]
        sessions[session_id] = entry
    nodes = {
        node_id: {"load_a": list(load.load_a), "headroom_a": list(load.headroom_a)}
        for node_id, load in solved.circuits.items()
    }
    return {"at": format_datetime(solved.at), "sessions": sessions, "nodes": nodes}


def _horizon(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _load(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidSite([f"--site: cannot read {source}: {error.strerror}"]) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSite([f"--site: not JSON: {error}"]) from error


# --- reading the site, every problem named by its field --------------------------------


class _Reader:
    """Collects one message per problem while reading fields of a JSON object."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def problem(self, path: str, rule: str) -> None:
        self.messages.append(f"{path}: {rule}")

    def number(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        default: float | None = None,
        required: bool = False,
        positive: bool = False,
        nullable: bool = True,
    ) -> float | None:
        where = f"{path}{key}"
        if key not in data:
            if required:
                self.problem(where, "is required")
            return default
        value = data[key]
        if value is None and nullable and not required:
            return default
        if not _is_number(value):
            self.problem(where, "must be a number")
            return default
        if positive and value <= 0:
            self.problem(where, "must be greater than 0")
            return default
        if value < 0:
            self.problem(where, "must be 0 or greater")
            return default
        return float(value)

    def phases(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        *,
        default: tuple[float, float, float] | None = None,
        required: bool = False,
    ) -> tuple[float, float, float] | None:
        """One number for all three phases, or a list of three for L1, L2, L3."""
        where = f"{path}{key}"
        if key not in data or (data[key] is None and not required):
            if required:
                self.problem(where, "is required")
            return default
        value = data[key]
        if _is_number(value):
            values = [value, value, value]
        elif isinstance(value, list) and len(value) == 3 and all(map(_is_number, value)):
            values = list(value)
        else:
            self.problem(where, "must be a number or a list of three numbers (L1, L2, L3)")
            return default
        if any(v < 0 for v in values):
            self.problem(where, "must be 0 or greater on every phase")
            return default
        return (float(values[0]), float(values[1]), float(values[2]))

    def instant(
        self, data: Mapping[str, Any], path: str, key: str, *, required: bool = False
    ) -> datetime | None:
        where = f"{path}{key}"
        if key not in data or (data[key] is None and not required):
            if required:
                self.problem(where, "is required")
            return None
        value = data[key]
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                pass
        self.problem(where, "must be an ISO 8601 date-time")
        return None

    def text(self, data: Mapping[str, Any], path: str, key: str) -> str | None:
        where = f"{path}{key}"
        value = data.get(key)
        if key not in data:
            self.problem(where, "is required")
        elif not isinstance(value, str) or not value:
            self.problem(where, "must be a non-empty string")
        else:
            return value
        return None

    def items(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(key, "must be a list")
            return []
        found: list[Mapping[str, Any]] = []
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                found.append(item)
            else:
                self.problem(f"{key}[{index}]", "must be an object")
        return found


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_site(data: Any, *, now: datetime) -> tuple[Site, datetime]:
    """The site and its ``at`` from parsed JSON; raises :class:`InvalidSite`."""
    if not isinstance(data, Mapping):
        raise InvalidSite(["site: must be a JSON object with nodes and sessions"])
    reader = _Reader()
    at = reader.instant(data, "", "at") or now
    voltage = reader.number(data, "", "supply_voltage_v", default=230.0, positive=True)
    nodes = _read_nodes(reader, data)
    listed = data.get("nodes")
    listed = listed if isinstance(listed, list) else []
    named = {item.get("id") for item in listed if isinstance(item, Mapping)}
    node_ids = {name for name in named if isinstance(name, str)}
    _check_tree(reader, nodes, node_ids)
    sessions = _read_sessions(reader, data, at, node_ids)
    if reader.messages:
        raise InvalidSite(reader.messages)
    circuits = tuple(n for n in nodes if n is not None)
    assert voltage is not None
    site = Site(circuits, tuple(s for s in sessions if s is not None), voltage)
    return site, at


def _read_nodes(reader: _Reader, data: Mapping[str, Any]) -> list[Circuit | None]:
    nodes: list[Circuit | None] = []
    seen: set[str] = set()
    for index, item in enumerate(reader.items(data, "nodes")):
        path = f"nodes[{index}]."
        node_id = reader.text(item, path, "id")
        if node_id is not None:
            if node_id in seen:
                reader.problem(f"{path}id", f"duplicate node id {node_id!r}")
            seen.add(node_id)
        parent: str | None = None
        if "parent" not in item:
            reader.problem(f"{path}parent", "is required (null for a grid connection)")
        elif item["parent"] is not None:
            parent = reader.text(item, path, "parent")
        max_current = reader.phases(item, path, "max_current_a", required=True)
        windows = _read_windows(reader, item, path)
        circuit = _optional_circuit_fields(reader, item, path)
        if node_id is None or max_current is None or windows is None or circuit is None:
            nodes.append(None)
            continue
        power, imbalance, margin, other, count = circuit
        nodes.append(
            Circuit(
                id=node_id,
                parent=parent,
                max_current_a=max_current,
                max_power_w=power,
                max_imbalance_a=imbalance,
                margin_a=margin,
                other_load_a=other,
                connector_count=count,
                limits=windows,
            )
        )
    return nodes


_CircuitFields = tuple[float | None, float | None, float, tuple[float, float, float], int | None]


def _optional_circuit_fields(
    reader: _Reader, item: Mapping[str, Any], path: str
) -> _CircuitFields | None:
    before = len(reader.messages)
    power = reader.number(item, path, "max_power_w", positive=True)
    imbalance = reader.number(item, path, "max_imbalance_a")
    margin = reader.number(item, path, "margin_a", default=0.0)
    other = reader.phases(item, path, "other_load_a", default=(0.0, 0.0, 0.0))
    count = item.get("connector_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        reader.problem(f"{path}connector_count", "must be a whole number of 1 or more")
        count = None
    if len(reader.messages) > before:
        return None
    assert margin is not None and other is not None
    return power, imbalance, margin, other, count


def _read_windows(
    reader: _Reader, item: Mapping[str, Any], path: str
) -> tuple[LimitWindow, ...] | None:
    value = item.get("limits")
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem(f"{path}limits", "must be a list of {from, to, max_current_a}")
        return None
    before = len(reader.messages)
    windows: list[LimitWindow] = []
    for index, window in enumerate(value):
        where = f"{path}limits[{index}]."
        if not isinstance(window, Mapping):
            reader.problem(where[:-1], "must be an object with from, to and max_current_a")
            continue
        start = reader.instant(window, where, "from", required=True)
        end = reader.instant(window, where, "to", required=True)
        current = reader.phases(window, where, "max_current_a", required=True)
        power = reader.number(window, where, "max_power_w", positive=True)
        if start is not None and end is not None and end <= start:
            reader.problem(f"{where}to", "must be later than from")
        elif start is not None and end is not None and current is not None:
            windows.append(LimitWindow(start, end, current, power))
    return tuple(windows) if len(reader.messages) == before else None


def _read_sessions(
    reader: _Reader, data: Mapping[str, Any], at: datetime, nodes: set[str]
) -> list[Session | None]:
    sessions: list[Session | None] = []
    seen: set[str] = set()
    for index, item in enumerate(reader.items(data, "sessions")):
        sessions.append(_read_session(reader, item, f"sessions[{index}].", at, nodes, seen))
    return sessions


def _read_session(
    reader: _Reader,
    item: Mapping[str, Any],
    path: str,
    at: datetime,
    nodes: set[str],
    seen: set[str],
) -> Session | None:
    before = len(reader.messages)
    session_id = reader.text(item, path, "id")
    if session_id is not None:
        if session_id in seen:
            reader.problem(f"{path}id", f"duplicate session id {session_id!r}")
        seen.add(session_id)
    node = reader.text(item, path, "node")
    if node is not None and node not in nodes:
        reader.problem(f"{path}node", f"no node has id {node!r}")
    phases = _read_phases(reader, item, path)
    minimum = reader.number(item, path, "min_current_a", required=True, positive=True)
    maximum = reader.number(item, path, "max_current_a", required=True, positive=True)
    if minimum is not None and maximum is not None and maximum < minimum:
        reader.problem(f"{path}max_current_a", "must be at least min_current_a")
    demand_cap = reader.number(item, path, "demand_cap_a")
    weight = reader.number(item, path, "weight", default=1.0, positive=True)
    priority = _read_priority(reader, item, path)
    plugged_in_at = reader.instant(item, path, "plugged_in_at") or at
    if len(reader.messages) > before:
        return None
    assert session_id and node and phases and minimum and maximum and weight
    return Session(
        id=session_id,
        circuit=node,
        phases=phases,
        min_current_a=minimum,
        max_current_a=maximum,
        demand_cap_a=demand_cap,
        weight=weight,
        priority=priority,
        plugged_in_at=plugged_in_at,
    )


def _read_phases(reader: _Reader, item: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    value = item.get("phases")
    if "phases" not in item:
        reader.problem(f"{path}phases", "is required")
        return None
    if (
        not isinstance(value, list)
        or not value
        or any(p not in PHASES for p in value)
        or len(set(value)) != len(value)
    ):
        reader.problem(f"{path}phases", 'must be a list of distinct "L1", "L2", "L3"')
        return None
    return tuple(p for p in PHASES if p in value)


def _read_priority(reader: _Reader, item: Mapping[str, Any], path: str) -> int:
    value = item.get("priority")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        reader.problem(f"{path}priority", "must be a whole number")
        return 0
    return value


def _check_tree(reader: _Reader, nodes: list[Circuit | None], node_ids: set[str]) -> None:
    parents = {n.id: n.parent for n in nodes if n is not None}
    for index, circuit in enumerate(nodes):
        if circuit is None:
            continue
        if circuit.parent is not None and circuit.parent not in node_ids:
            reader.problem(f"nodes[{index}].parent", f"no node has id {circuit.parent!r}")
            continue
        seen = {circuit.id}
        node = circuit.parent
        while node is not None and node in parents:
            if node in seen:
                reader.problem(f"nodes[{index}].parent", "the parents form a cycle")
                break
            seen.add(node)
            node = parents[node]


# --- what planning ahead adds ------------------------------------------------------------


def read_request(
    data: Any, *, now: datetime, time_limit_s: float = 2.0
) -> tuple[PlanRequest, bool]:
    """The site with what planning adds, and whether it gave ``horizon_s``; raises
    :class:`InvalidSite` with every problem of both."""
    messages: list[str] = []
    try:
        site, at = read_site(data, now=now)
    except InvalidSite as error:
        messages = list(error.messages)
        site, at = None, now
    if not isinstance(data, Mapping):
        raise InvalidSite(messages)
    reader = _Reader()
    needs = _read_needs(reader, data, at)
    grid = _read_grid(reader, data)
    tariff = _read_tariff(reader, data)
    step = reader.number(data, "", "step_s", default=900.0, positive=True)
    horizon = reader.number(data, "", "horizon_s", default=86_400.0, positive=True)
    fine_step = reader.number(data, "", "fine_step_s", positive=True)
    fine_for = reader.number(data, "", "fine_horizon_s", default=0.0)
    for key, value in (("step_s", step), ("horizon_s", horizon), ("fine_step_s", fine_step),
                       ("fine_horizon_s", fine_for)):
        if value is not None and value != int(value):
            reader.problem(key, "must be a whole number of seconds")
    messages += [m for m in reader.messages if m not in messages]
    if messages or site is None:
        raise InvalidSite(messages)
    assert step is not None and horizon is not None
    slots = Horizon(step_s=int(step), horizon_s=int(horizon),
                    fine_step_s=int(fine_step) if fine_step is not None else None,
                    fine_for_s=int(fine_for or 0))
    request = PlanRequest(site, at, needs, grid, tariff, slots, time_limit_s)
    return request, "horizon_s" in data


def _read_needs(reader: _Reader, data: Mapping[str, Any], at: datetime) -> dict[str, Need]:
    needs: dict[str, Need] = {}
    for index, item in enumerate(reader.items(data, "sessions")):
        path = f"sessions[{index}]."
        energy = reader.number(item, path, "energy_kwh")
        departure = reader.instant(item, path, "departure")
        if energy is not None and departure is None and "departure" not in item:
            reader.problem(f"{path}departure", "is required with energy_kwh")
        if departure is not None and energy is None and "energy_kwh" not in item:
            reader.problem(f"{path}energy_kwh", "is required with departure")
        session_id = item.get("id")
        if energy is not None and departure is not None and isinstance(session_id, str):
            needs[session_id] = Need(energy, departure)
    return needs


def _read_grid(reader: _Reader, data: Mapping[str, Any]) -> Grid:
    line_to_line: set[str] = set()
    for index, item in enumerate(reader.items(data, "sessions")):
        path = f"sessions[{index}]."
        wiring = item.get("wiring", LINE_TO_NEUTRAL)
        if wiring not in (LINE_TO_NEUTRAL, LINE_TO_LINE):
            reader.problem(f"{path}wiring", f'must be "{LINE_TO_NEUTRAL}" or "{LINE_TO_LINE}"')
        elif wiring == LINE_TO_LINE:
            phases = item.get("phases")
            if not isinstance(phases, list) or len(phases) != 2:
                reader.problem(f"{path}phases", "must name two lines when line-to-line")
            elif isinstance(item.get("id"), str):
                line_to_line.add(item["id"])
    transformers: dict[str, float] = {}
    for index, item in enumerate(reader.items(data, "nodes")):
        value = item.get("transformer")
        if value is None:
            continue
        path = f"nodes[{index}].transformer"
        if not isinstance(value, Mapping):
            reader.problem(path, "must be an object with ratio")
            continue
        ratio = reader.number(value, f"{path}.", "ratio", required=True, positive=True)
        if ratio is not None and isinstance(item.get("id"), str):
            transformers[item["id"]] = ratio
    return Grid(frozenset(line_to_line), transformers)


def _read_tariff(reader: _Reader, data: Mapping[str, Any]) -> Tariff:
    prices: list[PricePeriod] = []
    value = data.get("prices")
    if value is not None and not isinstance(value, list):
        reader.problem("prices", "must be a list of {from, to, price_per_kwh}")
    for index, item in enumerate(value if isinstance(value, list) else []):
        where = f"prices[{index}]."
        if not isinstance(item, Mapping):
            reader.problem(where[:-1], "must be an object with from, to and price_per_kwh")
            continue
        start = reader.instant(item, where, "from", required=True)
        end = reader.instant(item, where, "to", required=True)
        price = item.get("price_per_kwh")
        if not _is_number(price):
            reader.problem(f"{where}price_per_kwh", "must be a number")
        elif start is not None and end is not None and end <= start:
            reader.problem(f"{where}to", "must be later than from")
        elif start is not None and end is not None:
            prices.append(PricePeriod(start, end, float(price or 0.0)))
    charge = reader.number(data, "", "demand_charge_per_kw", default=0.0)
    peak = reader.number(data, "", "peak_so_far_kw", default=0.0)
    return Tariff(tuple(prices), charge or 0.0, peak or 0.0)
