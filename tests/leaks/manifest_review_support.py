"""Helpers of the manifest review of 3 Dec (tests/leaks/test_*manifest*.py and the federation TLP findings): what leak_support has, plus manifest entries and readable objects by id."""

from leak_support import *  # noqa: F401,F403


def manifest_entries(objects):
    return {e["object_ref"]: e for o in objects if o.get("type") == "x-entente-manifest"
            for e in o.get("entries", [])}


def readable(objects):
    return {o["id"]: o for o in objects if o.get("type") != "x-entente-manifest"}
