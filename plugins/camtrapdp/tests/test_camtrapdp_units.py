"""Properties of the pieces: time zones, dates, taxa, events, coverage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from megadetector_integrations.errors import MdiError
from megadetector_integrations.model import Image
from megadetector_integrations_camtrapdp import tables, timestamps
from megadetector_integrations_camtrapdp.validation import load_schema

local_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m))


def fmt_offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@given(local_times, offsets)
def test_exif_time_with_timezone_option_round_trips(local, offset):
    zone = timestamps.parse_timezone(fmt_offset(offset))
    taken = timestamps.to_datetime(timestamps.Stamp(local.strftime("%Y:%m:%d %H:%M:%S")), zone)
    assert taken.replace(tzinfo=None) == local and taken.utcoffset() == offset
    text = tables.stamp(taken)
    assert datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z") == taken  # the Camtrap DP format reads it back


@given(local_times, offsets, offsets)
def test_camera_offset_wins_over_the_option(local, camera, option):
    stamp = timestamps.Stamp(local.strftime("%Y:%m:%d %H:%M:%S"), fmt_offset(camera))
    taken = timestamps.to_datetime(stamp, timestamps.parse_timezone(fmt_offset(option)))
    assert taken.utcoffset() == camera


@pytest.mark.parametrize("text", ["", "0000:00:00 00:00:00", "    :  :     :  :  ", "2024:13:01 10:00:00", "garbage"])
def test_placeholder_dates_are_no_dates(text):
    assert timestamps.to_datetime(timestamps.Stamp(text), timezone.utc) is None


def test_named_zone_follows_daylight_saving():
    zone = timestamps.parse_timezone("Europe/Brussels")
    winter = timestamps.to_datetime(timestamps.Stamp("2024:01:15 12:00:00"), zone)
    summer = timestamps.to_datetime(timestamps.Stamp("2024:07:15 12:00:00"), zone)
    assert (tables.stamp(winter), tables.stamp(summer)) == ("2024-01-15T12:00:00+01:00", "2024-07-15T12:00:00+02:00")


@pytest.mark.parametrize("text", ["+25:00", "Mars/Olympus", "5", "UTC+2"])
def test_bad_timezones_are_user_errors(text):
    with pytest.raises(MdiError, match="--timezone"):
        timestamps.parse_timezone(text)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.datetimes(min_value=datetime(1905, 1, 1), max_value=datetime(2039, 12, 31)).map(  # mvhd v0 holds 32-bit seconds
    lambda d: d.replace(microsecond=0, tzinfo=timezone.utc)))
def test_mp4_creation_time_round_trips(tmp_path, files, when):
    path = files.mp4(tmp_path / "clip.mp4", when)
    assert timestamps.read_stamp(str(path)).utc == when


def test_unreadable_files_have_no_date(tmp_path, files):
    files.mp4(tmp_path / "unset.mp4", datetime(1904, 1, 1, tzinfo=timezone.utc))  # creation time 0: not set
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe1garbage")
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x08free")
    for name in ("unset.mp4", "bad.jpg", "bad.mp4", "absent.jpg"):
        assert timestamps.read_stamp(str(tmp_path / name)) == timestamps.Stamp()


def test_process_pool_keeps_order(tmp_path, files, monkeypatch):
    monkeypatch.setattr(timestamps, "CHUNK", 3)
    paths = []
    for i in range(10):
        paths.append(str(files.jpeg(tmp_path / f"{i}.jpg", f"2024:01:01 00:00:{i:02d}")))
    chunks = list(timestamps.read_stamps(paths, workers=2))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [int(s.taken[-2:]) for c in chunks for s in c] == list(range(10))


media_strategy = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(min_value=0, max_value=600)), min_size=1, max_size=40)


@given(media_strategy, st.integers(min_value=0, max_value=120))
def test_events_split_exactly_at_gaps_longer_than_the_threshold(items, gap):
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    media = [tables.Medium(i, Image(f"{dep}/{i}.jpg", ()), f"{dep}/{i}.jpg", dep, start + timedelta(seconds=s))
             for i, (dep, s) in enumerate(items, 1)]
    events = tables.group_events(media, gap)
    ordered = sorted(media, key=lambda m: (m.deployment, m.taken, m.path))
    for before, after in zip(ordered, ordered[1:]):
        same = before.deployment == after.deployment and (after.taken - before.taken).total_seconds() <= gap
        assert (events[before.index] == events[after.index]) == same
    for number in set(events.values()):  # an event never spans two deployments
        assert len({m.deployment for m in media if events[m.index] == number}) == 1


@pytest.mark.parametrize("description, name, rank", [
    ("g;mammalia;carnivora;canidae;vulpes;vulpes;red fox", "Vulpes vulpes", "species"),
    ("g;mammalia;carnivora;canidae;canis;;dog family", "Canis", "genus"),
    ("g;aves;;;;;bird", "Aves", "class"),
    ("g;;;;;;blank", None, None),
    ("not a taxonomy", None, None),
    (None, None, None),
])
def test_taxa_from_speciesnet_descriptions(description, name, rank):
    taxon = tables.parse_taxon(description, "common")
    assert (taxon.scientific_name if taxon else None, taxon.rank if taxon else None) == (name, rank)


@pytest.mark.parametrize("path, level, expected", [
    ("site/cam/img.jpg", None, "site/cam"), ("site/cam/img.jpg", 1, "site"), ("site/cam/img.jpg", 5, "site/cam"),
    ("img.jpg", None, "root"), ("a/b/c/d.jpg", 2, "a/b"),
])
def test_deployment_ids(path, level, expected):
    assert tables.deployment_id(path, level, "root") == expected


@given(st.text(alphabet="abcXYZ._", max_size=8), st.sampled_from(["jpg", "JPG", "jpeg", "png", "mp4", "AVI", "mov", "xyz", ""]))
def test_media_types_always_fit_the_schema_pattern(stem, ext):
    import re

    pattern = next(f for f in load_schema("media")["fields"] if f["name"] == "fileMediatype")["constraints"]["pattern"]
    assert re.match(pattern, tables.media_type(f"dir/{stem}.{ext}" if ext else f"dir/{stem}"))


def test_spatial_coverage_shapes():
    assert tables.spatial([]) is None
    assert tables.spatial([(50.0, 4.0)]) == {"type": "Point", "coordinates": [4.0, 50.0]}
    assert tables.spatial([(50.0, 4.0), (50.0, 5.0)])["type"] == "LineString"
    polygon = tables.spatial([(50.0, 4.0), (51.0, 5.0), (50.5, 4.5)])
    assert polygon["coordinates"][0][0] == polygon["coordinates"][0][-1] == [4.0, 50.0]
