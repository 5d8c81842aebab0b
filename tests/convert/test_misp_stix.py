"""MISP events converted by MISP's own converter (`misp-stix`,
`MISPtoSTIX21Parser`) and by `entente import --format misp` (then `entente
export`) mean the same: per MISP record, the same patterns (normalised),
observables, markings and relationships, and the same report references.

The events are the converter's vectors (`crates/convert/tests/misp/*.json`):
realistic events written for Entente covering every MISP attribute category,
the common objects, tags and galaxies. Where the two converters differ on
purpose, the difference is checked to be exactly the documented one
(`DELIBERATE`, and `crates/convert/src/misp/mod.rs`): anything else fails.
"""

import json
from collections import defaultdict
from datetime import datetime

import pytest
from misp_stix_converter import MISPtoSTIX21Parser
from stix2patterns.v21.pattern import Pattern

from convert_support import TLP_LEVELS, VECTORS, Node

COMPARED = ["spyware-campaign.json", "cert-feed-response.json", "public-list.json"]

DELIBERATE = {
    "indicator-only": "a to_ids attribute is an indicator alone; misp-stix (since 2025.10) "
    "adds observed data and a based-on relationship",
    "inherited-tlp": "a record without TLP tag carries the event's TLP; misp-stix leaves it unmarked",
    "tlp-2": "TLP tags are TLP 2.0 marking definitions; misp-stix writes TLP 1.0 for white/green/amber/red",
    "tlsh-t1": "a TLSH digest with the T1 prefix is a hash; stix2 (under misp-stix) refuses it and "
    "misp-stix falls back to an x-misp-attribute",
    "unmapped-galaxy": "a galaxy without STIX type stays a label; misp-stix writes an x-misp-galaxy-cluster",
    "indicates": "a galaxy on a to_ids attribute is what its indicator indicates; misp-stix relates "
    "it to the observed data (related-to)",
    "object-mime": "a file object's mimetype is the file's mime_type; misp-stix's table names the "
    "relation mime-type, so it writes x_misp_mimetype",
}

SDO_GALAXY_TYPES = {
    "attack-pattern", "course-of-action", "intrusion-set", "malware", "threat-actor", "tool",
    "vulnerability", "campaign", "identity",
}
HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER", "HKCR": "HKEY_CLASSES_ROOT",
         "HKU": "HKEY_USERS", "HKCC": "HKEY_CURRENT_CONFIG"}


def uuid_of(stix_id):
    return stix_id.split("--", 1)[1]


def type_of(stix_id):
    return stix_id.split("--", 1)[0]


def unquote(literal):
    if literal.startswith("'") and literal.endswith("'"):
        return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return literal


def expand_hive(key):
    hive, sep, rest = key.partition("\\")
    return HIVES.get(hive.upper(), hive) + sep + rest


def pattern_meaning(text):
    """The comparisons of a pattern as a set, with what only spells them
    differently removed: list indexes (`[0]`, `[*]`, none), the quotes
    misp-stix puts around integers, `ISSUBSET` for a CIDR block (misp-stix
    writes `=`, which compares text), abbreviated registry hives, and
    parentheses and order (the join is AND in both)."""
    comparisons = Pattern(text).inspect().comparisons
    meaning = set()
    for object_type, items in comparisons.items():
        for path, op, value in items:
            steps = tuple(str(p) for p in path if isinstance(p, str))
            value = unquote(value)
            if op == "ISSUBSET" and "/" in value:
                op = "="
            if object_type == "windows-registry-key" and steps == ("key",):
                value = expand_hive(value)
            meaning.add((object_type, steps, op, value))
    return frozenset(meaning)


def observable_meaning(observed, objects):
    """The SCOs of an observed data as comparable values: ids dropped,
    references replaced by what they point to, registry hives written out."""
    by_id = {o["id"]: o for o in objects}

    def canonical(sco_id, depth=0):
        sco = by_id.get(sco_id)
        if sco is None or depth > 3:
            return sco_id
        out = {}
        for k, v in sco.items():
            if k in ("id", "spec_version", "object_marking_refs"):
                continue
            if k.endswith("_ref"):
                v = canonical(v, depth + 1)
            elif k.endswith("_refs"):
                v = sorted(json.dumps(canonical(r, depth + 1), sort_keys=True) for r in v)
            elif k == "body_multipart":
                v = sorted(
                    json.dumps({**p, "body_raw_ref": canonical(p.get("body_raw_ref"), depth + 1)}, sort_keys=True)
                    for p in v
                )
            elif k == "key" and sco["type"] == "windows-registry-key":
                v = expand_hive(v)
            elif k == "x_misp_mimetype":
                k = "mime_type"  # DELIBERATE object-mime
            out[k] = v
        return out

    return sorted(json.dumps(canonical(r), sort_keys=True) for r in observed["object_refs"])


def instant(text):
    """A STIX timestamp as a point in time (`…00Z` and `…00.000Z` alike)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else text


def levels(obj):
    return sorted({TLP_LEVELS[m] for m in obj.get("object_marking_refs", []) if m in TLP_LEVELS})


def misp_records(path):
    """Per MISP record uuid: ("attribute"|"object", to_ids flags, event TLP levels, type)."""
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "response" in data:
        events = data["response"]
    elif isinstance(data, list):
        events = data
    else:
        events = [data]
    records = {}
    for wrapped in events:
        event = wrapped.get("Event", wrapped)
        event_tlp = sorted(
            {t["name"].split(":", 1)[1].replace("white", "clear") for t in event.get("Tag", [])
             if t["name"].lower().startswith("tlp:")}
        )
        for a in event.get("Attribute", []):
            records[a["uuid"]] = ("attribute", [a.get("to_ids")], event_tlp, a["type"], a.get("value"))
        for o in event.get("Object", []):
            flags = [a.get("to_ids") for a in o["Attribute"]]
            records[o["uuid"]] = ("object", flags, event_tlp, o["name"], None)
    return records


def convert_with_misp_stix(path):
    parser = MISPtoSTIX21Parser()
    parser.parse_json_content(path.read_text())
    return json.loads(parser.bundle.serialize())["objects"]


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    return Node(tmp_path_factory.mktemp("misp-stix") / "node")


@pytest.mark.parametrize("name", COMPARED)
def test_entente_and_misp_stix_convert_misp_events_to_the_same_meaning(name, node, capsys):
    path = VECTORS / name
    theirs = convert_with_misp_stix(path)
    done = node.import_("--format", "misp", path)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    # The node also holds the other vectors' objects: compare this file's.
    records = misp_records(path)
    ours_all = node.export()
    their_ids = {o["id"] for o in theirs}
    by_uuid_theirs = defaultdict(dict)
    for o in theirs:
        by_uuid_theirs[uuid_of(o["id"])][o["type"]] = o
    ours_by_id = {o["id"]: o for o in ours_all}
    by_uuid_ours = defaultdict(dict)
    for o in ours_all:
        by_uuid_ours[uuid_of(o["id"])][o["type"]] = o

    problems = []
    tally = defaultdict(int)

    def problem(uuid, what):
        problems.append(f"{uuid}: {what}")

    for uuid, (kind, flags, event_tlp, misp_type, value) in records.items():
        t, o = by_uuid_theirs.get(uuid, {}), by_uuid_ours.get(uuid, {})
        any_ids, all_ids = any(flags), all(flags)
        if "indicator" in t:
            tally["indicators compared"] += 1
            if "indicator" not in o:
                problem(uuid, f"misp-stix has an indicator ({misp_type}), Entente none")
                continue
            if t["indicator"]["pattern_type"] != o["indicator"]["pattern_type"]:
                problem(uuid, "pattern types differ")
            elif t["indicator"]["pattern_type"] == "stix":
                mine, yours = pattern_meaning(o["indicator"]["pattern"]), pattern_meaning(t["indicator"]["pattern"])
                if mine != yours:
                    problem(uuid, f"patterns differ:\n  misp-stix {t['indicator']['pattern']}\n  entente   {o['indicator']['pattern']}")
                else:
                    tally["patterns equal"] += 1
        if "observed-data" in t:
            # DELIBERATE indicator-only: observed data next to an indicator
            # only for an object some of whose attributes are not to_ids.
            expect_observed = not any_ids or (kind == "object" and not all_ids)
            if expect_observed:
                if "observed-data" not in o:
                    problem(uuid, f"misp-stix has observed data ({misp_type}), Entente none")
                else:
                    tally["observed data compared"] += 1
                    mine = observable_meaning(o["observed-data"], ours_all)
                    yours = observable_meaning(t["observed-data"], theirs)
                    if mine != yours:
                        problem(uuid, f"observables differ:\n  misp-stix {yours}\n  entente   {mine}")
                    else:
                        tally["observables equal"] += 1
            elif "observed-data" in o:
                problem(uuid, "Entente has observed data for an all-to_ids record")
            else:
                tally["deliberate: indicator-only"] += 1
        if "x-misp-attribute" in t:
            if "x-misp-attribute" in o:
                a, b = t["x-misp-attribute"], o["x-misp-attribute"]
                for k in ("x_misp_type", "x_misp_value", "x_misp_category", "x_misp_comment"):
                    if a.get(k) != b.get(k):
                        problem(uuid, f"{k}: misp-stix {a.get(k)!r}, Entente {b.get(k)!r}")
                tally["custom attributes equal"] += 1
            elif misp_type == "tlsh" and value.lower().startswith("t1"):
                assert "observed-data" in o or "indicator" in o, uuid
                tally["deliberate: tlsh-t1"] += 1
            else:
                problem(uuid, f"misp-stix has an x-misp-attribute ({misp_type}), Entente {sorted(o)}")
        for sdo in ("vulnerability", "campaign", "x-misp-object"):
            if sdo in t:
                if sdo not in o or t[sdo].get("name") != o[sdo].get("name"):
                    problem(uuid, f"{sdo} differs")
                else:
                    tally[f"{sdo} equal"] += 1
        # Markings of every object standing for the record.
        for stype, theirs_obj in t.items():
            ours_obj = o.get(stype)
            if ours_obj is None or stype in ("relationship",):
                continue
            want = levels(theirs_obj)
            got = levels(ours_obj)
            if want:
                if want != got:
                    problem(uuid, f"{stype} markings: misp-stix {want}, Entente {got}")
                else:
                    tally["explicit markings equal (TLP 1.0 read as 2.0: deliberate tlp-2)"] += 1
            elif got != event_tlp:
                problem(uuid, f"{stype} markings: Entente {got}, expected the event's {event_tlp}")
            elif event_tlp:
                tally["deliberate: inherited-tlp"] += 1

    # Galaxy clusters and the author (attribute-derived vulnerabilities and
    # campaigns were compared above, as records).
    for t in theirs:
        if t["type"] in SDO_GALAXY_TYPES:
            if uuid_of(t["id"]) in records:
                continue
            o = ours_by_id.get(t["id"])
            if o is None:
                problem(t["id"], "missing in Entente")
                continue
            for k in ("name", "identity_class", "is_family"):
                if t.get(k) != o.get(k):
                    problem(t["id"], f"{k}: misp-stix {t.get(k)!r}, Entente {o.get(k)!r}")
            for k in ("aliases", "external_references", "kill_chain_phases", "malware_types"):
                canon = lambda v: sorted(json.dumps(x, sort_keys=True) for x in (v or []))
                if canon(t.get(k)) != canon(o.get(k)):
                    problem(t["id"], f"{k}: misp-stix {t.get(k)}, Entente {o.get(k)}")
            tally[f"{t['type']} equal"] += 1
        elif t["type"] == "x-misp-galaxy-cluster":
            assert t["id"] not in ours_by_id
            tag = next(label for label in t["labels"] if label.startswith("misp-galaxy:"))
            assert any(tag in o.get("labels", []) for o in ours_all if o["type"] in ("report", "grouping")), tag
            tally["deliberate: unmapped-galaxy"] += 1

    # Relationships, per (source record, target).
    rels_t = [r for r in theirs if r["type"] == "relationship"]
    rels_o = {(uuid_of(r["source_ref"]), r["target_ref"] if type_of(r["target_ref"]) in SDO_GALAXY_TYPES
               else uuid_of(r["target_ref"])): r for r in ours_all if r["type"] == "relationship"}
    for r in rels_t:
        source = uuid_of(r["source_ref"])
        if r["relationship_type"] == "based-on":
            continue  # checked below
        target_key = r["target_ref"] if type_of(r["target_ref"]) in SDO_GALAXY_TYPES else uuid_of(r["target_ref"])
        if type_of(r["target_ref"]) == "x-misp-galaxy-cluster":
            continue  # DELIBERATE unmapped-galaxy
        mine = rels_o.get((source, target_key))
        if mine is None:
            problem(source, f"relationship {r['relationship_type']} to {r['target_ref']} is missing")
            continue
        if r.get("id") == mine.get("id") or r["relationship_type"] == mine["relationship_type"]:
            tally["relationships equal"] += 1
        elif (r["relationship_type"], type_of(r["source_ref"]), mine["relationship_type"],
              type_of(mine["source_ref"])) == ("related-to", "observed-data", "indicates", "indicator"):
            tally["deliberate: indicates"] += 1
        else:
            problem(source, f"relationship to {r['target_ref']}: misp-stix {r['relationship_type']}, "
                            f"Entente {mine['relationship_type']}")
    based_on_t = {(r["source_ref"], r["target_ref"]) for r in rels_t if r["relationship_type"] == "based-on"}
    for r in ours_all:
        if r["type"] == "relationship" and r["relationship_type"] == "based-on" and uuid_of(r["source_ref"]) in records:
            assert (r["source_ref"], r["target_ref"]) in based_on_t, r
            tally["based-on equal"] += 1

    # Reports: same kind, name, publication, and the same records referenced.
    for t in theirs:
        if t["type"] not in ("report", "grouping"):
            continue
        o = ours_by_id.get(t["id"])
        if o is None:
            problem(t["id"], "report missing")
            continue
        for k in ("name", "published", "context", "created_by_ref", "confidence"):
            same = instant(t.get(k)) == instant(o.get(k)) if k == "published" else t.get(k) == o.get(k)
            if not same:
                problem(t["id"], f"{k}: misp-stix {t.get(k)!r}, Entente {o.get(k)!r}")
        if levels(t) != levels(o):
            problem(t["id"], f"markings {levels(t)} / {levels(o)}")
        skip = ("relationship", "x-misp-galaxy-cluster", "observed-data")
        sco = lambda i: type_of(i) not in SDO_GALAXY_TYPES | {"indicator", "x-misp-attribute", "x-misp-object",
                                                             "report", "grouping", "note"}
        wanted = {i for i in t["object_refs"] if type_of(i) not in skip and not sco(i)}
        got = {i for i in o["object_refs"] if type_of(i) not in skip and not sco(i)}
        tlsh = {i for i in wanted - got if type_of(i) == "x-misp-attribute"
                and records.get(uuid_of(i), (None,) * 4)[3] == "tlsh"}
        if wanted - tlsh != got - {f"indicator--{uuid_of(i)}" for i in tlsh}:
            problem(t["id"], f"references differ: only misp-stix {sorted(wanted - got)}, only Entente {sorted(got - wanted)}")
        else:
            tally["report references equal"] += 1
        extra = {i for i in o["object_refs"] if type_of(i) == "observed-data"} - set(t["object_refs"]) - {
            f"observed-data--{uuid_of(i)}" for i in tlsh}
        if extra:
            problem(t["id"], f"observed data only Entente references: {sorted(extra)}")

    with capsys.disabled():
        print(f"\n{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items())))
    assert not problems, "\n".join(problems)
    assert tally["patterns equal"] > 0 and tally["report references equal"] == sum(
        1 for t in theirs if t["type"] in ("report", "grouping"))


def test_every_misp_attribute_category_is_in_the_compared_events():
    categories = set()
    for name in COMPARED:
        data = json.loads((VECTORS / name).read_text())
        events = data["response"] if isinstance(data, dict) and "response" in data else (
            data if isinstance(data, list) else [data])
        for e in events:
            categories.update(a["category"] for a in e.get("Event", e).get("Attribute", []))
    # MISP's 16 categories (pymisp describeTypes).
    from pymisp.abstract import describe_types
    assert set(describe_types["categories"]) <= categories, set(describe_types["categories"]) - categories
