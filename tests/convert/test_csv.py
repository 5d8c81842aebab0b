"""`entente import --format csv` reads what spreadsheets and feed scripts
write: files produced here by Python's own `csv` module (RFC 4180 quoting,
CRLF line ends, a UTF-8 byte order mark), with defanged values and bad rows.
Every indicator that comes out passes the OASIS validator (`stix2-validator`),
its pattern parses with the OASIS pattern parser (`stix2-patterns`) and holds
the refanged value; every bad row is reported with the line it starts on;
and a million rows go through in one stream.
"""

import csv
import io
import resource

from stix2patterns.v21.pattern import Pattern
from stix2validator import ValidationOptions, validate_instance

from convert_support import Node, ok, summary_counts

GOOD = [
    # (value as written, type cell, comment, the value the pattern must hold, pattern path)
    ("hxxps://login-verify[.]example/owa/auth?u=1&l=en", "", 'phish, "urgent"', "https://login-verify.example/owa/auth?u=1&l=en", ("url", ("value",))),
    ("hXXp[:]//203[.]0[.]113[.]9/x.apk", "url", "multi\nline\ncomment", "http://203.0.113.9/x.apk", ("url", ("value",))),
    ("198[.]51[.]100[.]7", "", "", "198.51.100.7", ("ipv4-addr", ("value",))),
    ("203.0.113.0/24", "ip", "block", "203.0.113.0/24", ("ipv4-addr", ("value",))),
    ("2001:DB8::dead:beef", "", "", "2001:db8::dead:beef", ("ipv6-addr", ("value",))),
    ("Evil-Update(.)Example", "domain", "mixed case", "evil-update.example", ("domain-name", ("value",))),
    ("recruit[at]mail-drop[dot]example", "", "", "recruit@mail-drop.example", ("email-addr", ("value",))),
    ("D41D8CD98F00B204E9800998ECF8427E", "", "", "d41d8cd98f00b204e9800998ecf8427e", ("file", ("hashes", "MD5"))),
    ("da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709", ("file", ("hashes", "SHA-1"))),
    ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ("file", ("hashes", "SHA-256"))),
    ("Invoice 2026.pdf.exe", "", "a space and a double extension", "Invoice 2026.pdf.exe", ("file", ("name",))),
    ("C:\\Users\\Public\\it's.exe", "filename", "quote and backslashes", "C:\\Users\\Public\\it's.exe", ("file", ("name",))),
]

BAD = [
    ("just some words", "", "no kind"),
    ("evil.example", "mutex", "unknown type"),
    ("999.1.1.1", "ipv4", "not an address"),
    ("abc", "md5", "not a hash"),
    ("naïve-résumé.example", "", "accents: a domain must be in its xn-- form"),
]


def write_csv(path, rows, header=("Value", "Type", "Comment", "TLP", "First Seen")):
    """Writes with Python's csv module: CRLF, minimal quoting, UTF-8 BOM.
    Returns the line each row starts on."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    lines = []
    line = 2
    for row in rows:
        start = buf.tell()
        writer.writerow(row)
        lines.append(line)
        line += buf.getvalue()[start:].count("\n")
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return lines


def test_csv_written_by_pythons_csv_module_imports_value_for_value(tmp_path):
    node = Node(tmp_path / "node")
    rows = [(v, t, c, "green", "2026-09-01") for v, t, c, _, _ in GOOD]
    rows += [(v, t, c, "", "") for v, t, c in BAD]
    rows.append(("evil.example", "", "", "purple", ""))
    rows.append(("evil.example", "", "", "", "the first of September"))
    lines = write_csv(tmp_path / "iocs.csv", rows)
    done = node.import_(tmp_path / "iocs.csv")
    assert done.returncode == 1
    out = done.stdout.decode()
    stored, _, rejected = summary_counts(done.stdout)
    good = GOOD
    assert (stored, rejected) == (len(good), len(rows) - len(good)), out
    # Each bad row by the line it starts on (rows before span lines).
    bad_lines = lines[len(good):]
    for line in bad_lines:
        assert f"iocs.csv: line {line}: " in out, (line, out)

    objects = node.export()
    options = ValidationOptions(version="2.1", strict=False)
    by_value = {}
    for o in objects:
        result = validate_instance(o, options)
        assert result.is_valid, [str(e) for e in result.errors]
        comparisons = Pattern(o["pattern"]).inspect().comparisons
        [(object_type, [(path, _, literal)])] = comparisons.items()
        value = literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        by_value[value] = (object_type, tuple(p for p in path if isinstance(p, str)), o)
    for written, _, comment, value, where in good:
        assert value in by_value, (written, sorted(by_value))
        object_type, path, o = by_value[value]
        assert (object_type, path) == where, (written, object_type, path)
        assert o.get("description", "") == comment
        assert o["valid_from"].startswith("2026-09-01T00:00:00")
        assert o["object_marking_refs"] == ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]


def test_a_million_rows_stream_through_the_cli(tmp_path):
    node = Node(tmp_path / "node")
    path = tmp_path / "million.csv"
    bad_at = set(range(99_999, 1_000_000, 100_000))  # ten bad rows
    with path.open("w", newline="") as f:
        f.write("type,value,comment,tlp\n")
        for i in range(1_000_000):
            if i in bad_at:
                f.write(f",not an indicator {i},bad,\n")
            elif i % 4 == 0:
                f.write(f"domain,c{i}.spyware-{i % 97}.example,C2,green\n")
            elif i % 4 == 1:
                f.write(f",198.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255},,amber\n")
            elif i % 4 == 2:
                f.write(f"sha1,{i:040x},dropper,\n")
            else:
                f.write(f'url,"hxxps://x{i}[.]example/p?a={i},b",quoted,clear\n')
    done = node.import_(path, timeout=3600)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    out = done.stdout.decode()
    assert done.returncode == 1, out
    stored, duplicates, rejected = summary_counts(done.stdout)
    assert (stored, duplicates, rejected) == (1_000_000 - len(bad_at), 0, len(bad_at)), out
    # Line = row index + 2 (the header is line 1).
    for i in sorted(bad_at):
        assert f"line {i + 2}: cannot tell what kind of indicator" in out, (i, out)
    # Streaming: the import never held what it produced at once. The STIX
    # bundle of these indicators is larger than the import's peak memory
    # (every process this test ran counts toward that peak).
    export = tmp_path / "all.json"
    ok(node.path, "export", "--collection", node.collection, "-o", export, timeout=3600)
    assert peak < export.stat().st_size, (peak, export.stat().st_size)
    # The last rows made it, refanged, quoted commas and all.
    with export.open() as f:
        last = [line for line in f if "x999995.example" in line]
    assert len(last) == 1 and "[url:value = 'https://x999995.example/p?a=999995,b']" in last[0], last
