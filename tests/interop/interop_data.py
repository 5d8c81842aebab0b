"""Deterministic STIX 2.1 content for the interop tests.

Every object is built here as a plain dict with explicit timestamps, so the
tests know exactly which versions exist and which one is first or last.
"""

import copy
import datetime as dt
import random
import uuid

TLP_GREEN = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "created": "2017-01-20T00:00:00.000Z",
    "definition_type": "tlp",
    "name": "TLP:GREEN",
    "definition": {"tlp": "green"},
}

# TLP 2.0 marking definitions (FIRST TLP 2.0 as published for STIX 2.1).
TLP2 = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_WHITE = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"

BASE_TIME = dt.datetime(2024, 3, 1, 9, 30, 0, tzinfo=dt.timezone.utc)


def stix_time(t, digits=3):
    """A STIX timestamp with `digits` fractional digits (0 = none)."""
    t = t.astimezone(dt.timezone.utc)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{t.microsecond:06d}"[:digits]
    return text + "Z"


def parse_time(text):
    """A STIX/TAXII timestamp as an aware datetime (microsecond precision)."""
    base, _, frac = text.rstrip("Z").partition(".")
    t = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc)
    if frac:
        t = t.replace(microsecond=int((frac + "000000")[:6]))
    return t


class Factory:
    """Makes valid STIX 2.1 objects with reproducible ids and times."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.clock = BASE_TIME + dt.timedelta(days=seed % 97)
        self.identity = self.sdo(
            "identity",
            name="Civil Society Helpdesk (test)",
            identity_class="organization",
            sectors=["non-profit"],
        )

    def uuid(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tick(self, seconds=1):
        self.clock += dt.timedelta(seconds=seconds)
        return self.clock

    def sdo(self, type_, **props):
        t = stix_time(self.tick())
        obj = {
            "type": type_,
            "spec_version": "2.1",
            "id": f"{type_}--{self.uuid()}",
            "created": t,
            "modified": t,
        }
        if type_ != "identity":
            obj["created_by_ref"] = self.identity["id"]
            obj["object_marking_refs"] = [TLP_GREEN["id"]]
        obj.update(props)
        return obj

    def indicator(self, n):
        kind = n % 4
        if kind == 0:
            pattern = f"[domain-name:value = 'c2-{n}.spyware.example']"
        elif kind == 1:
            pattern = f"[ipv4-addr:value = '198.51.100.{n % 250 + 1}']"
        elif kind == 2:
            digest = "%064x" % self.rng.getrandbits(256)
            pattern = f"[file:hashes.'SHA-256' = '{digest}']"
        else:
            pattern = f"[url:value = 'https://login-{n}.phish.example/verify']"
        return self.sdo(
            "indicator",
            name=f"Spyware infrastructure indicator {n}",
            indicator_types=["malicious-activity"],
            pattern=pattern,
            pattern_type="stix",
            valid_from=stix_time(self.clock),
            labels=["spyware"],
        )

    def new_version(self, obj, **changes):
        """The next version of `obj`: same id and created, a later modified."""
        v = copy.deepcopy(obj)
        v.update(changes)
        v["modified"] = stix_time(self.tick(60), digits=3)
        return v

    def malware(self, n):
        return self.sdo(
            "malware",
            name=f"Spyware family {n}",
            is_family=True,
            malware_types=["spyware"],
        )

    def relationship(self, source, target, rel="indicates"):
        return self.sdo(
            "relationship",
            relationship_type=rel,
            source_ref=source["id"],
            target_ref=target["id"],
        )

    def campaign_set(self):
        """One of each of several SDO/SRO types, referencing each other."""
        malware = self.malware(0)
        actor = self.sdo(
            "threat-actor",
            name="Mercenary spyware vendor",
            threat_actor_types=["spy"],
        )
        intrusion = self.sdo("intrusion-set", name="Quiet Harbour")
        campaign = self.sdo("campaign", name="Press freedom targeting 2024")
        attack = self.sdo("attack-pattern", name="Zero-click messaging exploit")
        tool = self.sdo("tool", name="Device forensics kit", tool_types=["information-gathering"])
        vuln = self.sdo("vulnerability", name="CVE-2023-41064")
        infra = self.sdo(
            "infrastructure", name="Exploit delivery servers",
            infrastructure_types=["command-and-control"],
        )
        location = self.sdo("location", name="Region", region="northern-europe")
        coa = self.sdo("course-of-action", name="Enable lockdown mode")
        indicator = self.indicator(0)
        rels = [
            self.relationship(indicator, malware),
            self.relationship(campaign, intrusion, "attributed-to"),
            self.relationship(malware, vuln, "exploits"),
            self.relationship(coa, malware, "mitigates"),
            self.relationship(actor, location, "located-at"),
        ]
        sighting = self.sdo(
            "sighting",
            sighting_of_ref=indicator["id"],
            count=3,
            where_sighted_refs=[self.identity["id"]],
        )
        note = self.sdo(
            "note", content="Seen on three journalists' phones.",
            object_refs=[indicator["id"]],
        )
        opinion = self.sdo("opinion", opinion="agree", object_refs=[indicator["id"]])
        grouping = self.sdo(
            "grouping", context="suspicious-activity",
            object_refs=[indicator["id"], malware["id"]],
        )
        report = self.sdo(
            "report",
            name="Spyware campaign against journalists",
            report_types=["campaign"],
            published=stix_time(self.clock),
            object_refs=[indicator["id"], malware["id"], campaign["id"]] + [r["id"] for r in rels],
        )
        return [
            TLP_GREEN, self.identity, malware, actor, intrusion, campaign, attack, tool,
            vuln, infra, location, coa, indicator, *rels, sighting, note, opinion,
            grouping, report,
        ]


def version_key(obj):
    """The TAXII version of an object: modified, else created."""
    return parse_time(obj.get("modified") or obj["created"])


class Model:
    """What a collection should hold, in the order versions were added.

    `add` mirrors the server's rules: a new (id, version) is appended (it gets
    the next date_added), a repeated one changes nothing.
    """

    def __init__(self):
        self.records = []  # dicts: id, type, version (datetime), obj
        self.keys = set()

    def add(self, obj):
        key = (obj["id"], version_key(obj))
        if key in self.keys:
            return False
        self.keys.add(key)
        self.records.append(
            {"id": obj["id"], "type": obj["type"], "version": key[1], "obj": obj}
        )
        return True

    def delete(self, stix_id, which="all"):
        mine = [r for r in self.records if r["id"] == stix_id]
        if which == "all":
            gone = mine
        elif which == "first":
            gone = [min(mine, key=lambda r: r["version"])]
        elif which == "last":
            gone = [max(mine, key=lambda r: r["version"])]
        else:
            gone = [r for r in mine if r["version"] == which]
        for r in gone:
            self.records.remove(r)
            self.keys.discard((r["id"], r["version"]))

    def select(self, ids=None, types=None, versions=("last",)):
        """Records matching the filters, in date_added order."""
        by_id = {}
        for r in self.records:
            by_id.setdefault(r["id"], []).append(r)
        chosen = []
        for r in self.records:
            if ids and r["id"] not in ids:
                continue
            if types and r["type"] not in types:
                continue
            same = by_id[r["id"]]
            keep = False
            for v in versions:
                if v == "all":
                    keep = True
                elif v == "first":
                    keep |= r["version"] == min(x["version"] for x in same)
                elif v == "last":
                    keep |= r["version"] == max(x["version"] for x in same)
                else:
                    keep |= r["version"] == v
            if keep:
                chosen.append(r)
        return chosen
