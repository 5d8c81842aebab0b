"""FINDING (MEDIUM, denial of service by one member analyst: each expiry
re-signs every hour-mate): in a `--hide-expired` collection, signer.rs puts
"indicators that expire within the same hour" in one manifest, "so that one
expiry re-signs few others". A member posting N indicators whose
valid_until fall a second apart within one hour gets them into one manifest
(up to 5,000); every expiry (the signer checks each second) withdraws that
manifest and the next run re-signs all the remaining ones in a new one (same
hour again): ~N^2/2 entries hashed, signed and stored, an audit entry per
withdrawal, and expiry_of re-reads every version of every listed indicator
each time. 5,000 indicators expiring 0.72 s apart: ~12.5 million entries
re-signed within the hour from one POST, repeatable every hour.

Reproduce: 415 indicators in one POST; 15 expire 1.1 s apart from now+3 s,
the other 400 a minute later (same hour). After the 15 have expired, the
`sign` audit entries list ~15 x 400 entries, not ~415.

Fix direction: bound the work per expiry, e.g. cut manifests per expiry
window with a cap on how many indicators share one (so an expiry re-signs
at most k others), or sign indicators of a --hide-expired collection with
distinct expiries in separate small manifests; rate-limit re-signing per
source organisation.

Fixed (3 Dec, evening): a manifest lists at most 50 objects, indicators in
order of expiry, so that one expiry re-signs at most 49 others.
"""
import re
import time
from datetime import datetime, timedelta, timezone

from manifest_review_support import indicator

EARLY, LATE = 15, 400


def _stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def test_staggered_expiries_re_sign_a_bounded_number_of_entries(work):
    a = work.node("a")
    a.org("CERT")
    a.user("CERT", "ana")
    a.community("D", "CERT")
    k = a.collection("K", "--community", "D", "--default-tlp", "green", "--hide-expired", signed=True)
    t = a.user_token("CERT/ana")
    start = datetime.now(timezone.utc)
    if (start.minute, start.second) >= (58, 0):  # keep every expiry within one hour
        time.sleep(125)
        start = datetime.now(timezone.utc)
    objs = []
    for i in range(EARLY + LATE):
        o = indicator(name=f"short-lived {i}", pattern=f"[ipv4-addr:value = '10.0.{i // 250}.{i % 250}']")
        after = 3 + 1.1 * i if i < EARLY else 3 + 1.1 * EARLY + 60
        o["valid_until"] = _stamp(start + timedelta(seconds=after))
        objs.append(o)
    assert a.post_status(t, k, objs)["success_count"] == EARLY + LATE
    time.sleep(3 + 1.1 * EARLY + 3)
    log = a.cli("audit", "show", "--limit", "100000")
    signed = [int(m) for m in re.findall(r"manifest of (\d+) objects", log)]
    assert sum(signed) >= EARLY + LATE, ("the signer ran", signed)
    # EARLY indicators expired: a fair bound re-signs a few times the posted count.
    assert sum(signed) <= 3 * (EARLY + LATE), (
        f"{len(signed)} manifests listing {sum(signed)} entries were signed for "
        f"{EARLY + LATE} indicators posted once, after {EARLY} expiries: {signed}")
