"""Properties of the pure parts: URLs, matching, per-sequence decisions, changes."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from megadetector_integrations.model import Detection, Image
from megadetector_integrations_emammal.connection import parse_url
from megadetector_integrations_emammal.plan import Match, Rules, decide, match_images, plan_changes

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
names = st.from_regex(r"[A-Za-z0-9_]{1,8}\.JPG", fullmatch=True)


@given(user=text, password=text, host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
       port=st.integers(1, 65535), database=text)
def test_url_round_trip(user, password, host, port, database):
    url = f"mysql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"
    target = parse_url(url)
    assert (target.user, target.password, target.host, target.port, target.database) == (
        user, password, host, port, database)


@settings(max_examples=50)
@given(st.lists(st.tuples(names, st.booleans(), st.booleans()), unique_by=lambda t: t[0], max_size=30))
def test_matching_by_file_name_or_parent_folder(spec):
    """spec: (file name, eMammal uses the <parent>_<name> form, results have an entry)."""
    deployment = [(f"cam_7_{n}" if prefixed else n, i // 3) for i, (n, prefixed, _) in enumerate(spec)]
    images = [Image(f"site/cam_7/{n}", ()) for n, _, has in spec if has] + [Image("site/cam_7/none.png", ())]
    match = match_images(images, deployment)
    expected = Counter(i // 3 for i, (_, _, has) in enumerate(spec) if has)
    assert Counter({s: len(ims) for s, ims in match.by_sequence.items()}) == expected
    assert match.unmatched == ["site/cam_7/none.png"]
    assert sorted(match.without_results) == sorted(raw for (raw, _), (_, _, has) in zip(deployment, spec) if not has)


detections = st.lists(st.builds(lambda c, p: Detection(c, p, (0.1, 0.1, 0.1, 0.1)),
                                st.sampled_from("123"), st.floats(0, 1)), max_size=4)
images = st.one_of(detections.map(lambda d: Image("x.jpg", tuple(d))), st.just(Image("x.jpg", None, "failed")))
TAXON = {"1": 2, "2": 3, "3": 4}


@given(st.lists(st.lists(images, min_size=1, max_size=4), min_size=1, max_size=6), st.floats(0, 1))
def test_each_sequence_gets_its_largest_counts_or_blank_never_both(sequences, threshold):
    rules = Rules(threshold, TAXON, blank_taxon=1)
    match = Match(dict(enumerate(sequences)), {i: len(s) for i, s in enumerate(sequences)}, [], [], [])
    wanted = decide(match, rules).wanted
    for seq, ims in enumerate(sequences):
        per_image = [Counter(TAXON[d.category] for d in im.detections if d.conf >= threshold)
                     for im in ims if not im.failed]
        largest = {t: max(c[t] for c in per_image) for c in per_image for t in c}
        if largest:
            assert wanted[seq] == largest
        elif any(im.failed for im in ims):
            assert seq not in wanted
        else:
            assert wanted[seq] == {1: 1}


rows = st.tuples(st.integers(0, 4), st.integers(1, 3), st.integers(1, 3))


@given(st.dictionaries(st.integers(0, 4), st.dictionaries(st.integers(1, 3), st.integers(1, 3), min_size=1)),
       st.lists(rows, max_size=8), st.sets(rows, max_size=8), st.booleans())
def test_changes_reach_the_decision_and_never_touch_others_rows(wanted, existing, machine, replace):
    changes = plan_changes(wanted, existing, machine, replace)
    after = [r for r in existing if r not in set(changes.deletes)] + changes.inserts
    assert set(changes.deletes) <= machine and set(changes.deletes) <= set(existing)
    for seq, taxa in wanted.items():
        now = {(t, c) for s, t, c in after if s == seq}
        if seq in changes.kept:
            assert now == {(t, c) for s, t, c in existing if s == seq}
        else:
            assert now == set(taxa.items())
    again = plan_changes(wanted, after, machine | set(changes.inserts), replace)
    assert again.inserts == [] and again.deletes == []
