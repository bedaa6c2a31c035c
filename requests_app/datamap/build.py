"""Build the typed data map from checked YAML. Each function checks one part and records problems
on the checker rather than stopping at the first."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import replace
from typing import Any

from requests_app.datamap import spec
from requests_app.datamap.checker import Checker, Path_

STORE_KEYS = {
    "kind",
    "description",
    "public_description",
    "organisation",
    "role",
    "notify_email",
    "receives_from",
    "connection",
    "tables",
    "resources",
    "files",
    "holds",
    "auth",
    "timeout_seconds",
    "max_retries",
}
TABLE_KEYS = {
    "label",
    "category",
    "identity",
    "links",
    "fields",
    "erase",
    "portable",
    "find",
    "primary_key",
    "delete",
    "update",
    "owner",
    "ignore",
    "order_by",
}
FIELD_KEYS = {
    "label",
    "category",
    "purpose",
    "legal_basis",
    "retention",
    "portable",
    "rectifiable",
    "erase",
    "format",
}
ERASE_KEYS = {
    "action",
    "strategy",
    "value",
    "legal_basis",
    "period",
    "years",
    "from_field",
    "from",
    "year_end",
    "with_owner",
}
# Keys that identify a person only once they have proved them: the verified email. A phone number
# typed into the form is never proved, so it may not be used to find anyone's data.
IDENTITY_KEYS = ("email",)
REGISTER_KEYS = {
    "purposes",
    "legal_basis",
    "recipients",
    "retention",
    "source",
    "transfers",
    "automated_decisions",
}
# The section that lists a store's record types, by kind.
SECTION = {"sql": "tables", "http": "resources", "files": "files", "notify": "holds"}


def build(raw: Any, c: Checker, file: str) -> spec.DataMap:
    top = c.mapping(
        raw,
        (),
        {"version", "register", "stores", "marketing_opt_out", "restrict"},
        {"version", "register", "stores"},
    )
    if top.get("version") not in (None, 1):
        c.fail(("version",), f"version {top.get('version')!r} is not supported", "write version: 1")
    register = {
        category: _register(entry, ("register", category), c)
        for category, entry in c.mapping(
            top.get("register", {}), ("register",), set(spec.CATEGORIES)
        ).items()
    }
    stores = {
        name: _store(name, value, ("stores", name), c)
        for name, value in c.mapping(
            top.get("stores", {}), ("stores",), set(top.get("stores") or {})
        ).items()
    }
    _check_register_covers(stores, register, c)
    stores = {
        name: _with_sources(store, (top.get("stores") or {}).get(name), stores, c)
        for name, store in stores.items()
    }
    opt_out = _changes(top.get("marketing_opt_out"), ("marketing_opt_out",), stores, c)
    restrict = _changes(top.get("restrict"), ("restrict",), stores, c, undone=True)
    return spec.DataMap(
        path=file, stores=stores, register=register, opt_out=opt_out, restrict=restrict
    )


# What an access letter says of each category is what the register states: these are never
# assumed when an entry is silent, so each must be stated, with what to write.
STATED = {
    "recipients": "add 'recipients:' listing who receives this data ([] if no one outside the "
    "controller)",
    "transfers": "add 'transfers:' saying where the data is processed and, for any transfer outside "
    'the UK, its safeguard ("Held and processed in the UK." if that is so)',
    "automated_decisions": "add 'automated_decisions:' saying whether decisions with legal or "
    'similarly significant effects are made automatically ("None." if none are)',
}


def _register(value: Any, path: Path_, c: Checker) -> spec.RegisterEntry:
    data = c.mapping(value, path, REGISTER_KEYS, {"purposes", "legal_basis", "retention", "source"})
    for key, fix in STATED.items():
        if isinstance(value, dict) and key not in data:
            c.fail(path, f"'{key}' is missing", fix)
    if data.get("recipients", ()) is None:
        c.fail(
            (*path, "recipients"),
            "a list is required, found nothing",
            "list who receives this data, or write [] if no one outside the controller does",
        )
    return spec.RegisterEntry(
        category=str(path[-1]),
        purposes=c.strings(data.get("purposes"), (*path, "purposes")),
        legal_basis=c.text(data.get("legal_basis"), (*path, "legal_basis")) or "",
        recipients=c.strings(data.get("recipients"), (*path, "recipients")),
        retention=c.text(data.get("retention"), (*path, "retention")) or "",
        source=c.text(data.get("source"), (*path, "source")) or "",
        transfers=_stated(data, "transfers", path, c),
        automated_decisions=_stated(data, "automated_decisions", path, c),
    )


def _stated(data: dict[str, Any], key: str, path: Path_, c: Checker) -> str:
    """A statement the letter prints as it is: present (``_register`` says when it is not) and
    not blank."""
    if key not in data:
        return ""
    text = c.text(data[key], (*path, key), required=True)
    if text is not None and not text.strip():
        c.fail((*path, key), "a value is required, found blank text", STATED[key])
    return text or ""


def _store(name: str, value: Any, path: Path_, c: Checker) -> spec.StoreSpec:
    needs = {"kind", "organisation"} | (
        {"notify_email"} if isinstance(value, dict) and value.get("kind") == "notify" else set()
    )
    if not (isinstance(value, dict) and value.get("kind") == "notify"):
        needs.add("connection")
    data = c.mapping(value, path, STORE_KEYS, needs)
    kind_known = data.get("kind") in spec.STORE_KINDS
    kind = c.choice(data.get("kind"), (*path, "kind"), spec.STORE_KINDS, default="sql")
    section = SECTION[kind]
    if not kind_known:  # the kind is already reported; which section it needs is then unknown
        section = next((s for s in SECTION.values() if s in data), section)
    for other in set(SECTION.values()) - {section}:
        if other in data:
            c.fail(
                (*path, other),
                f"a {kind} store lists its records under '{section}', not '{other}'",
                f"rename '{other}:' to '{section}:'",
            )
    if section not in data:
        c.fail(path, f"'{section}' is missing", f"list the store's record types under '{section}:'")
    tables_raw = c.mapping(data.get(section, {}), (*path, section), set(data.get(section) or {}))
    tables = {t: _table(t, v, kind, (*path, section, t), c) for t, v in tables_raw.items()}
    _check_links(tables, (*path, section), c)
    connection = (
        c.setting(data.get("connection"), (*path, "connection"))
        if kind != "notify" or "connection" in data
        else None
    ) or spec.Setting(env="")
    return spec.StoreSpec(
        name=name,
        kind=kind,
        description=c.text(data.get("description"), (*path, "description")) or name,
        organisation=c.text(data.get("organisation"), (*path, "organisation")) or "",
        role=c.choice(data.get("role"), (*path, "role"), spec.ROLES, default="controller"),
        notify_email=c.text(data.get("notify_email"), (*path, "notify_email")),
        connection=connection,
        tables=tables,
        auth=_auth(data.get("auth"), (*path, "auth"), c),
        timeout_seconds=c.number(
            data.get("timeout_seconds"), (*path, "timeout_seconds"), 15.0, minimum=0.1
        ),
        max_retries=int(c.number(data.get("max_retries"), (*path, "max_retries"), 3)),
        public_description=c.text(data.get("public_description"), (*path, "public_description")),
    )


def _with_sources(
    store: spec.StoreSpec, raw: Any, stores: dict[str, spec.StoreSpec], c: Checker
) -> spec.StoreSpec:
    """A recipient's ``receives_from``, checked against the stores and spelt out table by table
    (a store alone stands for every table it lists)."""
    path: Path_ = ("stores", store.name, "receives_from")
    value = raw.get("receives_from") if isinstance(raw, dict) else None
    if store.kind != "notify":
        if value is not None:
            c.fail(
                path,
                "'receives_from' is for notify recipients only: Smarct changes this store itself",
                "remove it",
            )
        return store
    if value is None:
        c.fail(
            path[:2],
            "'receives_from' is missing: nothing says whose data this recipient has, so it "
            "cannot be told only about the people it holds",
            "add receives_from: listing the stores or tables whose data it gets from us (e.g. "
            "[billing.payment_methods], or [billing] for all of a store)",
        )
        return store
    entries = c.strings(value, path)
    if not entries and isinstance(value, list):
        c.fail(
            path,
            "the list is empty, so this recipient would never be told of any request",
            "name the stores or tables whose data it receives (receives_from: "
            "[billing.payment_methods]), or remove the store if it receives none",
        )
    sources: list[tuple[str, str]] = []
    for i, entry in enumerate(entries):
        for pair in _source(entry, (*path, i), stores, c):
            if pair not in sources:
                sources.append(pair)
    return replace(store, receives_from=tuple(sources))


def _source(
    entry: str, path: Path_, stores: dict[str, spec.StoreSpec], c: Checker
) -> list[tuple[str, str]]:
    """One ``receives_from`` entry: ``store`` (all its tables) or ``store.table``."""
    name, _, table = entry.partition(".")
    searched = sorted(s.name for s in stores.values() if s.searchable)
    if name not in stores:
        close = difflib.get_close_matches(name, searched, n=1)
        fix = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(searched)}"
        c.fail(path, f"no store called '{name}'", fix)
        return []
    if not stores[name].searchable:
        c.fail(
            path,
            f"'{name}' is a notify recipient: Smarct finds nothing there",
            f"name the stores Smarct searches whose data it receives: {', '.join(searched)}",
        )
        return []
    tables = list(stores[name].tables)
    if not table:
        return [(name, t) for t in tables]
    if table not in tables:
        close = difflib.get_close_matches(table, tables, n=1)
        fix = f"did you mean '{name}.{close[0]}'?" if close else f"use one of: {', '.join(tables)}"
        c.fail(path, f"store '{name}' lists no '{table}'", fix)
        return []
    return [(name, table)]


def _table(name: str, value: Any, kind: str, path: Path_, c: Checker) -> spec.TableSpec:
    data = c.mapping(value, path, TABLE_KEYS, {"category"})
    category = c.choice(data.get("category"), (*path, "category"), spec.CATEGORIES)
    erase = _erase(data.get("erase"), (*path, "erase"), c) or spec.EraseSpec(action="delete")
    portable = c.boolean(data.get("portable"), (*path, "portable"), True)
    identity_raw = c.mapping(
        data.get("identity", {}), (*path, "identity"), set(data.get("identity") or {})
    )
    identity = {str(col): str(key) for col, key in identity_raw.items()}
    for col, key in identity.items():
        if key == "phone":
            c.fail(
                (*path, "identity", col),
                "a phone number is never verified, so it cannot identify the person (anyone could "
                "type someone else's number)",
                f"match on the verified email instead: identity: {{<email column>: email}}; keep "
                f"'{col}' as an ordinary field",
            )
        elif key not in IDENTITY_KEYS:
            c.fail((*path, "identity", col), f"'{key}' is not a subject key", "use email")
    links = tuple(
        _link(item, (*path, "links", i), c) for i, item in enumerate(data.get("links") or [])
    )
    if not identity and not links and kind not in {"sql", "notify"}:
        c.fail(path, "no 'identity' to match the person on", "add identity: {<column>: email}")
    fields_raw = c.mapping(data.get("fields", {}), (*path, "fields"), set(data.get("fields") or {}))
    fields = {
        f: _field(f, v, category, portable, erase, (*path, "fields", f), c)
        for f, v in fields_raw.items()
    }
    _check_field_erasure(erase, fields, path, c)
    find = _find(data.get("find"), (*path, "find"), c) if kind == "http" else None
    calls = {k: _call(data.get(k), (*path, k), c) for k in ("delete", "update")}
    if kind == "http":
        _check_http_table(data, find, calls, erase, fields, path, c)
    else:
        for key in ("find", "delete", "update"):
            if key in data:
                c.fail((*path, key), f"'{key}' is for http resources only", f"remove '{key}'")
    if kind != "sql":
        for key in ("owner", "ignore"):
            if key in data:
                c.fail((*path, key), f"'{key}' is for sql tables only", f"remove '{key}'")
    owner = _owner(data.get("owner"), (*path, "owner"), c)
    if owner is not None and identity:
        c.fail(
            (*path, "owner"),
            "a table with an 'identity' is found by it; 'owner' would be a second way in",
            "keep one: the identity, or the owner",
        )
    return spec.TableSpec(
        name=name,
        category=category,
        identity=identity,
        links=links,
        fields=fields,
        erase=erase,
        portable=portable,
        find=find,
        primary_key=c.text(data.get("primary_key"), (*path, "primary_key")),
        delete_call=calls["delete"],
        update_call=calls["update"],
        owner=owner,
        ignore=c.strings(data.get("ignore"), (*path, "ignore")),
        label=c.text(data.get("label"), (*path, "label")),
        order_by=_order_by(data.get("order_by"), (*path, "order_by"), c),
    )


def _owner(value: Any, path: Path_, c: Checker) -> spec.OwnerSpec | None:
    if value is None:
        return None
    data = c.mapping(value, path, {"via", "referenced_by"})
    via = c.text(data.get("via"), (*path, "via"))
    referenced = c.text(data.get("referenced_by"), (*path, "referenced_by"))
    if (via is None) == (referenced is None):
        c.fail(
            path,
            "say either 'via' (this table's link column) or 'referenced_by' (<table>.<column> "
            "of the person's rows that point here), exactly one",
            "write owner: {via: customer_id} or owner: {referenced_by: customer.address_id}",
        )
        return None
    if referenced is not None:
        table, _, column = referenced.partition(".")
        if not table or not column:
            c.fail(
                (*path, "referenced_by"),
                f"'{referenced}' should be <table>.<column>",
                "write e.g. referenced_by: customer.address_id",
            )
            return None
        return spec.OwnerSpec(referenced_by=(table, column))
    return spec.OwnerSpec(via=via)


def _check_field_erasure(
    erase: spec.EraseSpec, fields: dict[str, spec.FieldSpec], path: Path_, c: Checker
) -> None:
    """Field-level erasure only means something when the row itself stays (anonymise, retain)."""
    if erase.action != "delete":
        return
    for name, field_spec in fields.items():
        if field_spec.erase is not None and field_spec.erase is not erase:
            c.fail(
                (*path, "fields", name, "erase"),
                "the table's rows are deleted, so this field has nothing left to anonymise",
                "remove this 'erase', or give the table erase: {action: anonymise}",
            )


def _check_http_table(
    data: dict[str, Any],
    find: spec.HttpFind | None,
    calls: dict[str, spec.HttpCall | None],
    erase: spec.EraseSpec,
    fields: dict[str, spec.FieldSpec],
    path: Path_,
    c: Checker,
) -> None:
    if find is None:
        c.fail(
            path,
            "'find' is missing",
            "say how to fetch the records: find: {path: /v1/..., params: ...}",
        )
    if erase.action == "delete" and calls["delete"] is None:
        c.fail(
            path,
            "erasure deletes these records, but there is no 'delete' call",
            'add delete: {method: DELETE, path: "/v1/.../{id}"}',
        )
    wants_update = erase.action == "anonymise" or any(f.rectifiable for f in fields.values())
    if wants_update and calls["update"] is None:
        c.fail(
            path,
            "records here are anonymised or corrected, but there is no 'update' call",
            'add update: {method: PATCH, path: "/v1/.../{id}"}',
        )


def _call(value: Any, path: Path_, c: Checker) -> spec.HttpCall | None:
    if value is None:
        return None
    data = c.mapping(value, path, {"method", "path", "per", "body"}, {"method", "path"})
    method = c.choice(
        str(data.get("method") or "DELETE").upper(),
        (*path, "method"),
        spec.HTTP_METHODS,
        default="DELETE",
    )
    per = c.choice(data.get("per"), (*path, "per"), ("record", "subject"), default="record")
    body = data.get("body")
    if body is not None and not isinstance(body, dict):
        c.fail((*path, "body"), "expected a mapping of fields", "write body: {email: '{email}'}")
        body = None
    return spec.HttpCall(
        method=method,
        path=c.text(data.get("path"), (*path, "path"), required=True) or "/",
        per=per,  # type: ignore[arg-type]
        body=body,
    )


def _changes(
    value: Any, path: Path_, stores: dict[str, spec.StoreSpec], c: Checker, *, undone: bool = False
) -> tuple[spec.StoreChange, ...]:
    """A section of changes to the person's records (``marketing_opt_out``, ``restrict``).
    ``undone``: each entry also gives ``lift``, the values that undo it, for the same fields."""
    if value is None:
        return ()
    example = "- {store: ..., table: ..., set: {...}" + (", lift: {...}}" if undone else "}")
    if not isinstance(value, list):
        c.fail(path, "expected a list", f"write {example}")
        return ()
    keys = {"store", "table", "set", "lift"} if undone else {"store", "table", "set"}
    changes = []
    for i, item in enumerate(value):
        data = c.mapping(item, (*path, i), keys, keys)
        where = _change_target(data, (*path, i), stores, c)
        values = data.get("set")
        if not isinstance(values, dict) or not values:
            c.fail((*path, i, "set"), "expected the fields to set", "write set: {marketing: false}")
            continue
        # (a missing ``lift`` is reported by ``mapping``)
        lift = _lift(data["lift"], values, (*path, i, "lift"), c) if "lift" in data else None
        if where is not None and (lift is not None or not undone):
            changes.append(spec.StoreChange(*where, set=dict(values), lift=lift))
    return tuple(changes)


def _change_target(
    data: dict[str, Any], path: Path_, stores: dict[str, spec.StoreSpec], c: Checker
) -> tuple[str, str] | None:
    """The (store, table) an entry changes, when Smarct can change it."""
    store, table = str(data.get("store", "")), str(data.get("table", ""))
    if store not in stores:
        c.fail((*path, "store"), f"no store called '{store}'", "name a store listed above")
        return None
    if table not in stores[store].tables:
        c.fail(
            (*path, "table"),
            f"store '{store}' lists no '{table}'",
            f"use one of: {', '.join(stores[store].tables)}",
        )
        return None
    if not stores[store].searchable:
        c.fail((*path, "store"), "a notify store cannot be changed by Smarct", "remove it")
        return None
    if stores[store].kind == "http" and stores[store].tables[table].update_call is None:
        c.fail(
            path,
            f"'{store}.{table}' has no 'update' call",
            'add update: {method: PATCH, path: "/v1/.../{id}"} to the resource',
        )
    return store, table


def _lift(value: Any, changed: dict[str, Any], path: Path_, c: Checker) -> dict[str, Any] | None:
    """The values that undo ``changed``: the same fields, each with a value to write back."""
    if not isinstance(value, dict) or not value:
        c.fail(
            path,
            "expected the values that undo 'set'",
            "write lift: {processing_restricted: false}",
        )
        return None
    for name in sorted(set(changed) - set(value)):
        c.fail(
            path,
            f"'set' changes '{name}' but 'lift' gives no value to write back",
            f"add {name}: <the value that undoes it> to 'lift'",
        )
    for name in sorted(set(value) - set(changed)):
        c.fail(
            path,
            f"'lift' writes '{name}', which 'set' does not change",
            f"lift only the fields 'set' changes: {', '.join(sorted(changed))}",
        )
    return dict(value) if set(value) == set(changed) else None


def _field(
    name: str,
    value: Any,
    category: str,
    portable: bool,
    erase: spec.EraseSpec,
    path: Path_,
    c: Checker,
) -> spec.FieldSpec:
    data = c.mapping(value if value is not None else {}, path, FIELD_KEYS)
    format_, currency = _format(data.get("format"), (*path, "format"), c)
    return spec.FieldSpec(
        name=name,
        category=c.choice(
            data.get("category"), (*path, "category"), spec.CATEGORIES, default=category
        ),
        purpose=c.text(data.get("purpose"), (*path, "purpose")),
        legal_basis=c.text(data.get("legal_basis"), (*path, "legal_basis")),
        retention=c.text(data.get("retention"), (*path, "retention")),
        portable=c.boolean(data.get("portable"), (*path, "portable"), portable),
        rectifiable=c.boolean(data.get("rectifiable"), (*path, "rectifiable"), False),
        erase=_erase(data.get("erase"), (*path, "erase"), c) or erase,
        label=c.text(data.get("label"), (*path, "label")),
        format=format_,
        currency=currency,
    )


def _format(value: Any, path: Path_, c: Checker) -> tuple[str | None, str | None]:
    """``date``, ``datetime``, ``boolean``, or ``{money: GBP}`` (also written "money: GBP")."""
    if value is None:
        return None, None
    if isinstance(value, str) and value.startswith("money:"):
        value = {"money": value.removeprefix("money:").strip()}
    if isinstance(value, dict):
        data = c.mapping(value, path, {"money"}, {"money"})
        code = data.get("money")
        if code is None:
            return None, None
        if not (isinstance(code, str) and re.fullmatch(r"[A-Z]{3}", code)):
            c.fail(
                (*path, "money"),
                f"{code!r} is not an ISO 4217 currency code",
                "write the three capital letters of the currency (GBP, EUR, USD)",
            )
            return None, None
        return "money", code
    if value == "money":
        c.fail(path, "money needs its currency", "write format: {money: GBP}")
        return None, None
    return c.choice(value, path, spec.FORMATS), None


def _order_by(value: Any, path: Path_, c: Checker) -> str | None:
    """A column, or ``-column`` for descending."""
    text = c.text(value, path)
    if text is not None and not re.fullmatch(r"-?[^\s-][^\s]*", text):
        c.fail(
            path,
            f"{text!r} is not a column name",
            "write the column's name as the store has it, with '-' before it for newest first",
        )
        return None
    return text


def _erase(value: Any, path: Path_, c: Checker) -> spec.EraseSpec | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"action": value}
    data = c.mapping(value, path, ERASE_KEYS, {"action"})
    action = c.choice(data.get("action"), (*path, "action"), spec.ERASE_ACTIONS, default="delete")
    strategy = data.get("strategy")
    if action == "anonymise":
        strategy = c.choice(
            strategy, (*path, "strategy"), spec.ANONYMISE_STRATEGIES, default="null"
        )
        if strategy == "fixed" and data.get("value") is None:
            c.fail(
                path, "the 'fixed' strategy needs a 'value'", 'add value: "[erased]" (or similar)'
            )
    if action == "retain":
        for key in ("legal_basis", "period"):
            if not data.get(key):
                c.fail(
                    path,
                    f"retained data needs its '{key}'",
                    f"add {key}: … (e.g. legal_basis: UK tax law (HMRC), period: 6 years after the end "
                    "of the financial year)",
                )
    years = data.get("years")
    if years is not None and (not isinstance(years, int) or isinstance(years, bool) or years < 0):
        c.fail(
            (*path, "years"),
            f"expected a whole number of years, found {years!r}",
            "write e.g. years: 6",
        )
        years = None
    start = _retention_start(data, years, action, path, c)
    return spec.EraseSpec(
        action=action,
        strategy=str(strategy) if strategy else None,
        value=c.text(data.get("value"), (*path, "value")),
        legal_basis=c.text(data.get("legal_basis"), (*path, "legal_basis")),
        period=c.text(data.get("period"), (*path, "period")),
        years=years,
        from_field=c.text(data.get("from_field"), (*path, "from_field")),
        year_end=_year_end(data.get("year_end"), (*path, "year_end"), c),
        from_relationship_end=start == "relationship_end",
        with_owner=c.boolean(data.get("with_owner"), (*path, "with_owner"), False),
    )


def _retention_start(
    data: dict[str, Any], years: int | None, action: str, path: Path_, c: Checker
) -> str | None:
    """Where a retention period starts: a date field, the end of the relationship, or the owner
    row's period. Exactly one, and only for retained data."""
    start = data.get("from")
    if start is not None and start != "relationship_end":
        c.fail((*path, "from"), f"'{start}' is not a start", "write from: relationship_end")
    starts = [k for k in ("from_field", "from", "with_owner") if data.get(k)]
    timed = starts or years is not None or "year_end" in data
    if timed and action != "retain":
        c.fail(path, "only retained data has a period", "remove years/from_field/from/year_end")
    elif len(starts) > 1:
        c.fail(path, f"{' and '.join(starts)} both say when the period starts", "keep one")
    elif years is not None and not starts:
        c.fail(
            path,
            f"'years: {years}' after what?",
            'add from_field: <date column> (with year_end: "03-31" for a financial year), '
            "or from: relationship_end",
        )
    elif starts and starts[0] != "with_owner" and years is None:
        c.fail(path, "the period has a start but no length", "add years: <n>")
    elif "year_end" in data and "from_field" not in starts:
        c.fail(path, "year_end rounds a date field up", "add from_field: <date column>")
    return str(start) if start else None


def _year_end(value: Any, path: Path_, c: Checker) -> tuple[int, int] | None:
    """'03-31' → (3, 31): the last day of the financial year."""
    if value is None:
        return None
    month, _, day = str(value).partition("-")
    try:
        parsed = dt.date(2001, int(month), int(day))  # a year with no 29 February
    except ValueError:
        c.fail(path, f"'{value}' is not a month and day", 'write it as "MM-DD", e.g. "03-31"')
        return None
    return (parsed.month, parsed.day)


def _link(value: Any, path: Path_, c: Checker) -> spec.LinkSpec:
    data = c.mapping(value, path, {"column", "to"}, {"column", "to"})
    to = str(data.get("to", ""))
    table, _, column = to.partition(".")
    if not column:
        c.fail((*path, "to"), f"'{to}' should be <table>.<column>", "write e.g. to: customers.id")
    return spec.LinkSpec(column=str(data.get("column", "")), to_table=table, to_column=column)


def _check_links(tables: dict[str, spec.TableSpec], path: Path_, c: Checker) -> None:
    for name, table in tables.items():
        owner = table.owner.referenced_by if table.owner else None
        if owner is not None and owner[0] not in tables:
            c.fail(
                (*path, name, "owner", "referenced_by"),
                f"'{owner[0]}' is not a table of this store",
                f"name a table listed here: {', '.join(sorted(tables))}",
            )
        for i, link in enumerate(table.links):
            if link.to_table and link.to_table not in tables:
                c.fail(
                    (*path, name, "links", i, "to"),
                    f"links to '{link.to_table}', which this store does not list",
                    f"add '{link.to_table}' to the store, or fix the name",
                )


def _find(value: Any, path: Path_, c: Checker) -> spec.HttpFind | None:
    if value is None:
        return None
    data = c.mapping(value, path, {"path", "params", "records", "pagination"}, {"path"})
    page_raw = c.mapping(
        data.get("pagination", {}),
        (*path, "pagination"),
        {"type", "param", "limit_param", "page_size", "next"},
    )
    page_type = c.choice(
        page_raw.get("type"),
        (*path, "pagination", "type"),
        ("none", "offset", "cursor", "next_link"),
        default="none",
    )
    if page_type in {"cursor", "next_link"} and not page_raw.get("next"):
        c.fail(
            (*path, "pagination"),
            f"{page_type} pagination needs 'next'",
            "give the dotted path to the next cursor or URL in the response, e.g. next: meta.next",
        )
    if page_type in {"offset", "cursor"} and not page_raw.get("param"):
        c.fail(
            (*path, "pagination"),
            f"{page_type} pagination needs 'param'",
            "name the query parameter",
        )
    params = c.mapping(data.get("params", {}), (*path, "params"), set(data.get("params") or {}))
    return spec.HttpFind(
        path=c.text(data.get("path"), (*path, "path"), required=True) or "/",
        params={str(k): str(v) for k, v in params.items()},
        records=c.text(data.get("records"), (*path, "records")) or "",
        pagination=spec.Pagination(
            type=page_type,  # type: ignore[arg-type]
            param=c.text(page_raw.get("param"), (*path, "pagination", "param")),
            limit_param=c.text(page_raw.get("limit_param"), (*path, "pagination", "limit_param")),
            page_size=int(
                c.number(
                    page_raw.get("page_size"), (*path, "pagination", "page_size"), 100, minimum=1
                )
            ),
            next=c.text(page_raw.get("next"), (*path, "pagination", "next")),
        ),
    )


def _auth(value: Any, path: Path_, c: Checker) -> spec.Auth:
    if value is None:
        return spec.Auth()
    data = c.mapping(value, path, {"type", "token", "username", "password", "header"}, {"type"})
    kind = c.choice(
        data.get("type"), (*path, "type"), ("none", "bearer", "basic", "header"), default="none"
    )
    needs = {"bearer": ("token",), "header": ("token", "header"), "basic": ("username", "password")}
    for key in needs.get(kind, ()):
        if key not in data:
            c.fail(
                path,
                f"{kind} auth needs '{key}'",
                f"add {key}: {{env: DSAR_STORE_..._{key.upper()}}}",
            )
    secret = {
        k: c.setting(data[k], (*path, k)) for k in ("token", "username", "password") if k in data
    }
    return spec.Auth(type=kind, header=c.text(data.get("header"), (*path, "header")), **secret)  # type: ignore[arg-type]


def _check_register_covers(
    stores: dict[str, spec.StoreSpec], register: dict[str, spec.RegisterEntry], c: Checker
) -> None:
    """Every category the stores hold needs its Article 15 entry, or access responses are incomplete."""
    held: dict[str, str] = {}
    for store in stores.values():
        for table in store.tables.values():
            for category in (table.category, *(f.category for f in table.fields.values())):
                held.setdefault(category, f"{store.name}.{table.name}")
    for category, where in sorted(held.items()):
        if category not in register:
            c.fail(
                ("register",),
                f"no entry for '{category}' (held in {where})",
                f"add register.{category} with purposes, legal_basis, retention and source",
            )
