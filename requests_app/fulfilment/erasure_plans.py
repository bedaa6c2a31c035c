"""The erasure plan: what erasure will do in each store, counted on the stores themselves (a dry
run), with every problem that blocks approval; the plan as approved (its rules, digest and counts);
and whether the data map still gives it (``docs/data-map.md`` → "The approved plan is the plan
executed")."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.utils.dateformat import format as date_format
from django.utils.translation import gettext, ngettext

from requests_app import datamap
from requests_app.core.errors import RuleViolation
from requests_app.datamap.periods import period_end
from requests_app.datamap.spec import StoreSpec, TableSpec, readable
from requests_app.gathering.gather import subject_of
from requests_app.models import DataSubjectRequest
from requests_app.stores import (
    PermanentStoreError,
    StoreError,
    Subject,
    TransientStoreError,
    connector_for,
)
from requests_app.stores.base import Connector, Outcome
from requests_app.stores.checks import check_store


@dataclass(frozen=True)
class TablePlan:
    """What erasure does to one table, counted on the store itself (a dry run) from the same
    conditions the erasure runs: ``records`` is every row of the person's found there."""

    table: str
    category: str
    action: str  # delete | anonymise | retain | notify
    records: int
    anonymised_fields: tuple[tuple[str, str], ...] = ()  # (field, strategy)
    legal_basis: str = ""
    period: str = ""
    until: dt.date | None = None
    deleted: int = 0
    anonymised: int = 0
    retained: int = 0
    expired: int = 0  # of the deleted: retained rows whose period has ended
    shared: int = 0  # left as they are: other people's records point at them
    path: str = ""  # how its rows are the person's (SQL)


@dataclass(frozen=True)
class StorePlan:
    store: str
    organisation: str
    description: str
    kind: str
    role: str
    notify_email: str | None
    tables: tuple[TablePlan, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()  # each blocks approval
    unreachable: bool = False  # the only problem: the store cannot be reached just now

    @property
    def by_notice(self) -> bool:
        return self.kind == "notify"

    def count(self, action: str) -> int:
        return sum(
            getattr(t, {"delete": "deleted", "anonymise": "anonymised"}.get(action, "retained"))
            for t in self.tables
        )


def _until(
    spec: TableSpec, latest: dt.date | None, received: dt.date | None, owner: TablePlan | None
) -> dt.date | None:
    erase = spec.erase
    if erase.action != "retain":
        return None
    if erase.with_owner:
        return owner.until if owner is not None else None
    if erase.from_relationship_end and received is not None and erase.years is not None:
        return period_end(erase, received)
    if latest is not None and erase.years is not None:
        return period_end(erase, latest)
    return None


def _table_plan(
    spec: TableSpec,
    outcome: Outcome | None,
    connector: Connector,
    subject: Subject,
    owners: dict[str, str],
    done: dict[str, TablePlan],
) -> TablePlan:
    """``outcome`` None: the rules only, without counting anything (the drift check)."""
    anonymised: tuple[tuple[str, str], ...] = ()
    if spec.erase.action != "delete":
        columns = connector.columns(spec.name) or list(spec.fields)
        how = connector.anonymised_columns(spec.name, columns)
        anonymised = tuple((c, e.strategy or "null") for c, e in how.items())
    latest = (
        connector.latest(subject, spec.name, spec.erase.from_field)
        if outcome is not None and spec.erase.action == "retain" and spec.erase.from_field
        else None
    )
    outcome = outcome or Outcome()
    owner = done.get(owners.get(spec.name, ""))
    return TablePlan(
        table=spec.name,
        category=spec.category,
        action=spec.erase.action,
        records=outcome.deleted
        + outcome.retained
        + outcome.shared
        + (outcome.anonymised if spec.erase.action == "anonymise" else 0),
        anonymised_fields=anonymised,
        legal_basis=spec.erase.legal_basis or "",
        period=spec.erase.period or "",
        until=_until(spec, latest, subject.received, owner),
        deleted=outcome.deleted,
        anonymised=outcome.anonymised,
        retained=outcome.retained,
        expired=outcome.expired,
        shared=outcome.shared,
        path=connector.ownership_path(spec.name),
    )


def store_plan(store: StoreSpec, subject: Subject, *, counted: bool = True) -> StorePlan:
    """One store's part of the plan, checked against the live store first: a problem (the map
    and the schema disagree, the store cannot be reached) is listed and blocks approval.
    ``counted`` False: the rules alone, nothing counted (what the drift check compares)."""
    plan = StorePlan(
        store=store.name,
        organisation=store.organisation,
        description=store.description,
        kind=store.kind,
        role=store.role,
        notify_email=store.notify_email,
    )
    if not store.searchable:
        tables = tuple(TablePlan(t.name, t.category, "notify", 0) for t in store.tables.values())
        return replace(plan, tables=tables)
    connector = connector_for(store)
    try:
        checked = check_store(
            datamap.current(), store, cheap=True, raise_transient=True, connector=connector
        )
        if checked:
            return replace(plan, problems=tuple(str(p) for p in checked))
        outcomes = connector.preview(subject) if counted else None
        owners = connector.owners()
        done: dict[str, TablePlan] = {}
        for name in connector.plan_order():
            outcome = outcomes.get(name, Outcome()) if outcomes is not None else None
            done[name] = _table_plan(store.tables[name], outcome, connector, subject, owners, done)
    except StoreError as exc:
        return replace(
            plan,
            problems=(f"{store.name} cannot be checked now: {exc}",),
            unreachable=isinstance(exc, TransientStoreError),
        )
    tables = tuple(done[name] for name in store.tables if name in done)
    return replace(plan, tables=tables, problems=_still_found(tables, owners) if counted else ())


def _still_found(tables: tuple[TablePlan, ...], owners: dict[str, str]) -> tuple[str, ...]:
    """Rows the map erases but that other records point at stay as they are. Where the person
    can still be found through them (their root row is kept too), erasure would leave them:
    a problem to fix before approval, not a surprise after."""
    plans = {t.table: t for t in tables}
    problems = []
    for table in tables:
        if not table.shared or table.action == "retain":
            continue
        root = table.table
        while root in owners:
            root = owners[root]
        if root == table.table or plans[root].action == "retain" or plans[root].shared:
            problems.append(
                f"{table.table}: {table.shared} of the person's rows cannot be erased, because "
                f"other records point at them, and the person can still be found through "
                f"{root}. Fix: add the tables that point at {table.table} to the map (their "
                f"rows go first), or anonymise {table.table} instead of deleting it"
            )
    return tuple(problems)


def erasure_plan(*, dsr: DataSubjectRequest) -> list[StorePlan]:
    """What erasure will do in each store, counted on the stores themselves (nothing changes)."""
    subject = subject_of(dsr)
    return [store_plan(store, subject) for store in datamap.current().stores.values()]


def plan_problems(plan: list[StorePlan]) -> list[str]:
    return [problem for store in plan for problem in store.problems]


def plan_rules(plan: list[StorePlan]) -> dict[str, Any]:
    """The part of a plan the approver decides on: per store and table the action, how each
    field is anonymised, what is retained, why and for how long, and how rows are found. Not the
    counts, which move as the person's data does."""
    return {
        store.store: {
            table.table: {
                "action": table.action,
                "anonymised_fields": [list(pair) for pair in table.anonymised_fields],
                "legal_basis": table.legal_basis,
                "period": table.period,
                "path": table.path,
                "rule": _rule(store.store, table.table),
            }
            for table in store.tables
        }
        for store in plan
    }


def _rule(store: str, table: str) -> dict[str, Any]:
    spec = datamap.current().stores[store].tables[table]
    erase = spec.erase
    fields = {
        name: [f.erase.action, f.erase.strategy, f.erase.value]
        for name, f in sorted(spec.fields.items())
        if f.erase is not None and f.erase != erase
    }
    return {
        "strategy": erase.strategy,
        "value": erase.value,
        "years": erase.years,
        "from_field": erase.from_field,
        "year_end": list(erase.year_end) if erase.year_end else None,
        "from_relationship_end": erase.from_relationship_end,
        "with_owner": erase.with_owner,
        "fields": fields,
    }


def retention_counted(store: str, table: str, rule: dict[str, Any] | None) -> str:
    """How a retained table's "until" date is counted, in words made from the rule that counted
    it (never from the map's free-text ``period``, which may say otherwise); "" when the rule
    is not known (a plan approved before rules were kept). In the active language."""
    if not rule:
        return ""
    if rule.get("with_owner"):
        return gettext("for the records they belong to")
    years = rule.get("years")
    if years is None:
        return ""
    if rule.get("from_relationship_end"):
        return ngettext(
            "%(years)d year after the end of our relationship (the day we received your "
            "erasure request)",
            "%(years)d years after the end of our relationship (the day we received your "
            "erasure request)",
            years,
        ) % {"years": years}
    spec = datamap.current().stores.get(store)
    column = rule.get("from_field") or ""
    field_spec = spec.tables[table].fields.get(column) if spec and table in spec.tables else None
    words = {"years": years, "field": field_spec.title if field_spec else readable(column)}
    if rule.get("year_end"):
        month, day = rule["year_end"]
        words["year_end"] = date_format(dt.date(2001, month, day), "j F")
        return (
            ngettext(
                "%(years)d year after the end of the financial year (ending %(year_end)s) in "
                "which the latest “%(field)s” date falls",
                "%(years)d years after the end of the financial year (ending %(year_end)s) in "
                "which the latest “%(field)s” date falls",
                years,
            )
            % words
        )
    return (
        ngettext(
            "%(years)d year after the latest “%(field)s” date",
            "%(years)d years after the latest “%(field)s” date",
            years,
        )
        % words
    )


def tables_kept(
    stores: list[dict[str, Any]], outcomes: dict[str, dict[str, Any]]
) -> list[tuple[str, str, str, int]]:
    """``(store, table, legal basis, rows)`` for each table whose rows an erasure kept by law:
    ``stores`` is the approved plan (``plan_as_json``), ``outcomes`` each erased store's step
    outcome. A table counts only in a store the erasure ran on, and only if rows were kept there:
    what the step reported, or at least what the plan counted (the certificate's rule). A rule
    to retain that met no rows kept nothing."""
    kept = []
    for store in stores:
        if store.get("store") not in outcomes:
            continue
        done = outcomes[store["store"]] or {}
        for table in store.get("tables") or []:
            if table.get("action") != "retain":
                continue
            rows = max(
                int(table.get("retained") or 0),
                int((done.get(table["table"]) or {}).get("retained") or 0),
            )
            if rows:
                kept.append((store["store"], table["table"], table.get("legal_basis") or "", rows))
    return kept


def plan_digest(rules: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()


def plan_as_json(plan: list[StorePlan]) -> list[dict[str, Any]]:
    return json.loads(json.dumps([asdict(p) for p in plan], default=str))


def plan_from_json(data: list[dict[str, Any]]) -> list[StorePlan]:
    def table(t: dict[str, Any]) -> TablePlan:
        until = dt.date.fromisoformat(t["until"]) if t.get("until") else None
        fields_ = tuple(tuple(pair) for pair in t.get("anonymised_fields", ()))
        return TablePlan(**{**t, "until": until, "anonymised_fields": fields_})

    return [
        StorePlan(
            **{
                **s,
                "tables": tuple(table(t) for t in s["tables"]),
                "problems": tuple(s.get("problems", ())),
            }
        )
        for s in data
    ]


def plan_changes(approved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """In words, where the current map's plan differs from the approved one."""
    changes = []
    for store in sorted(set(approved) | set(current)):
        before, after = approved.get(store), current.get(store)
        if before is None or after is None:
            changes.append(f"{store}: {'added to' if before is None else 'removed from'} the map")
            continue
        for table in sorted(set(before) | set(after)):
            if before.get(table) != after.get(table):
                old, new = before.get(table) or {}, after.get(table) or {}
                keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                changes.append(f"{store}.{table}: {', '.join(keys)} changed")
    return changes


def erasure_plan_fix(*, dsr: DataSubjectRequest) -> dict[str, Any]:
    """The plan as approved: computed now, refused while it has a problem (the map and a store's
    schema disagree, a store cannot be checked), and kept with its digest. Erasure later runs
    only while the map still gives this plan."""
    plan = erasure_plan(dsr=dsr)
    problems = plan_problems(plan)
    if problems:
        raise RuleViolation(
            "This erasure cannot be approved until its plan has no problems: "
            + " | ".join(problems)
        )
    rules = plan_rules(plan)
    return {"rules": rules, "digest": plan_digest(rules), "stores": plan_as_json(plan)}


def erasure_plan_drift(*, dsr: DataSubjectRequest, stores: list[StoreSpec]) -> list[str]:
    """How the map's plan for ``stores`` now differs from the approved one; empty when it is the
    same. A store whose plan cannot be computed raises: its step fails (or retries) visibly."""
    approved = dsr.erasure_plan or {}
    if "rules" not in approved:
        return []  # approved before plans were fixed: nothing to compare with
    plan = [store_plan(store, subject_of(dsr), counted=False) for store in stores]
    for store in plan:
        if store.problems:
            error = TransientStoreError if store.unreachable else PermanentStoreError
            raise error("; ".join(store.problems))
    current = plan_rules(plan)
    return plan_changes({name: approved["rules"].get(name) for name in current}, current)


def erasure_map_drift(*, dsr: DataSubjectRequest) -> list[str]:
    """Before erasure starts: whether the map still gives the approved plan, store by store. A
    store that cannot be checked now is left to its own step, which checks again."""
    approved = (dsr.erasure_plan or {}).get("rules")
    if approved is None:
        return []
    changes = [
        f"{name}: removed from the map" for name in approved if name not in datamap.current().stores
    ]
    for store in datamap.current().stores.values():
        try:
            changes += erasure_plan_drift(dsr=dsr, stores=[store])
        except StoreError:
            continue
    return changes
