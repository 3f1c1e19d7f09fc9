"""Payload models and transports of both servers, on the fixtures, without any storage."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from sidecar.composition import MEDIA_KINDS
from tests.webhook_support import fixture_bytes, fixture_json, split_http_request
from webhooks import events as ev
from webhooks import planner
from webhooks.bodies import emby_document, jellyfin_document
from webhooks.emby import parse_emby
from webhooks.errors import PayloadError
from webhooks.jellyfin import parse_jellyfin

MATRIX_JF = "636a515bbdb34cc795500f084e480402"
ALICE_JF = "fa984abd4cf24037bb5e7ed85d80162d"
ALICE_EMBY = "98b03b0314e644a882d6230867e74fa1"


def _jellyfin(name: str, content_type: str = "text/plain; charset=utf-8") -> ev.WebhookEvent:
    return parse_jellyfin(jellyfin_document(fixture_bytes(name), content_type))


def _emby(name: str) -> ev.WebhookEvent:
    return parse_emby(emby_document(fixture_bytes(name), "application/json"))


def test_jellyfin_item_added_send_all() -> None:
    event = _jellyfin("jellyfin-webhook-itemadded.json")
    assert (event.server_kind, event.event, event.source_event) == ("jellyfin", ev.ITEM_ADDED, "ItemAdded")
    assert event.server_id == "aefea2e555874301bb2a494ebab4a1f7"
    assert event.item_id == "5b5e4b1114ce4113bbb68bcfeb58cc63"
    assert (event.item_type, event.tmdb_id, event.imdb_id) == ("Movie", "329865", "tt2543164")
    assert event.user_id is None and event.path is None
    assert (
        event.occurred_at is not None and event.occurred_at.isoformat() == "2026-11-22T20:03:31.884217+00:00"
    )


def test_jellyfin_playback_stop_send_all() -> None:
    event = _jellyfin("jellyfin-webhook-playbackstop.json")
    assert (event.event, event.user_id, event.item_id) == (ev.PLAYBACK_STOPPED, ALICE_JF, MATRIX_JF)
    assert event.played is True and event.position_ticks == 79851234560


def test_jellyfin_user_data_saved() -> None:
    event = _jellyfin("jellyfin-webhook-userdatasaved.json")
    assert (event.event, event.reason, event.played) == (ev.USER_DATA_SAVED, "PlaybackFinished", True)
    assert (event.user_id, event.item_id, event.position_ticks) == (ALICE_JF, MATRIX_JF, 0)


def test_jellyfin_template_output_and_send_all_give_the_same_event_fields() -> None:
    send_all = _jellyfin("jellyfin-webhook-playbackstop.json")
    template = _jellyfin("jellyfin-webhook-playbackstop.template-output.json", "application/json")
    fields = ("server_id", "event", "user_id", "item_id", "item_type", "tmdb_id", "imdb_id", "played")
    assert {f: getattr(template, f) for f in fields} == {f: getattr(send_all, f) for f in fields}
    assert template.position_ticks == send_all.position_ticks == 79851234560
    assert template.occurred_at == send_all.occurred_at


def test_jellyfin_generic_form_destination() -> None:
    """Generic Form: one form field per key, booleans as True/False, null as ""."""
    document = fixture_json("jellyfin-webhook-playbackstop.template-output.json")
    body = urlencode(document).encode()
    event = parse_jellyfin(jellyfin_document(body, "application/x-www-form-urlencoded"))
    assert (event.item_id, event.user_id, event.played) == (MATRIX_JF, ALICE_JF, True)


def test_jellyfin_mark_played_unplayed_and_rating_come_from_user_data_saved() -> None:
    base = fixture_json("jellyfin-webhook-userdatasaved.json")
    marked = parse_jellyfin({**base, "SaveReason": "TogglePlayed", "Played": True})
    unmarked = parse_jellyfin({**base, "SaveReason": "TogglePlayed", "Played": "False"})
    rated = parse_jellyfin({**base, "SaveReason": "UpdateUserRating", "Favorite": True})
    progress = parse_jellyfin({**base, "SaveReason": "PlaybackProgress", "Played": False})
    assert [e.event for e in (marked, unmarked, rated, progress)] == [
        ev.MARK_PLAYED,
        ev.MARK_UNPLAYED,
        ev.RATED,
        ev.USER_DATA_SAVED,
    ]


def test_emby_fixtures() -> None:
    stop = _emby("emby-webhook-playback-stop.json")
    assert (stop.server_kind, stop.event, stop.source_event) == ("emby", ev.PLAYBACK_STOPPED, "playback.stop")
    assert (stop.user_id, stop.item_id, stop.item_type) == (ALICE_EMBY, "48213", "Movie")
    assert (stop.played, stop.position_ticks, stop.tmdb_id, stop.imdb_id) == (
        True,
        79851234560,
        "603",
        "tt0133093",
    )
    assert stop.path == "/mnt/media/Movies/The Matrix (1999)/The Matrix (1999).mkv"
    assert stop.server_id == "b46ee098c2fd49e4ba2fcd4e76c99133"

    new = _emby("emby-webhook-library-new.json")
    assert (new.event, new.item_id, new.user_id, new.tmdb_id) == (ev.ITEM_ADDED, "51902", None, "329865")

    marked = _emby("emby-webhook-item-markplayed.json")
    assert (marked.event, marked.played, marked.user_id, marked.item_id) == (
        ev.MARK_PLAYED,
        True,
        ALICE_EMBY,
        "48213",
    )


def test_emby_multipart_form_from_the_raw_request() -> None:
    headers, body = split_http_request(fixture_bytes("emby-webhook-playback-stop.multipart.http"))
    event = parse_emby(emby_document(body, headers["Content-Type"]))
    assert (event.event, event.user_id, event.item_id, event.played) == (
        ev.PLAYBACK_STOPPED,
        ALICE_EMBY,
        "48213",
        True,
    )


@pytest.mark.parametrize("quoted", [True, False])
def test_emby_multipart_part_name_quoted_or_not(quoted: bool) -> None:
    name = '"data"' if quoted else "data"
    payload = fixture_bytes("emby-webhook-library-new.json")
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name="
        + name.encode()
        + b"\r\n\r\n"
        + payload
        + b"\r\n--XyZ--\r\n"
    )
    event = parse_emby(emby_document(body, "multipart/form-data; boundary=XyZ"))
    assert event.item_id == "51902"


def test_emby_json_with_data_as_string_or_object() -> None:
    document = fixture_json("emby-webhook-item-markplayed.json")
    as_string = json.dumps({"data": json.dumps(document)}).encode()
    as_object = json.dumps({"data": document}).encode()
    for body in (as_string, as_object):
        assert parse_emby(emby_document(body, "application/json")).event == ev.MARK_PLAYED


def test_emby_item_id_sent_as_a_number_is_kept_as_a_string() -> None:
    document = fixture_json("emby-webhook-library-new.json")
    document["Item"]["Id"] = 51902
    assert parse_emby(document).item_id == "51902"


@pytest.mark.parametrize(
    ("parse", "document", "field"),
    [
        (
            parse_jellyfin,
            {"NotificationType": "ItemAdded", "ItemId": "not-a-guid", "ItemType": "Movie"},
            "ItemId",
        ),
        (parse_jellyfin, {"NotificationType": "ItemAdded", "ItemType": "Movie"}, "ItemId"),
        (parse_jellyfin, {"ItemId": MATRIX_JF}, "NotificationType"),
        (
            parse_jellyfin,
            {
                "NotificationType": "PlaybackStop",
                "ItemId": MATRIX_JF,
                "PlayedToCompletion": "maybe",
                "UserId": ALICE_JF,
            },
            "PlayedToCompletion",
        ),
        (parse_emby, {"Date": "2026-11-22T21:31:12Z"}, "Event"),
        (parse_emby, {"Event": "library.new", "Item": {"Type": "Movie"}}, "Item.Id"),
        (
            parse_emby,
            {
                "Event": "playback.stop",
                "Item": {"Id": "1", "Type": "Movie"},
                "PlaybackInfo": {"PositionTicks": "x"},
                "User": {"Id": ALICE_EMBY},
            },
            "PlaybackInfo.PositionTicks",
        ),
        (parse_emby, {"Event": "item.markplayed", "Item": {"Id": "1", "Type": "Movie"}}, "User.Id"),
        (parse_emby, {"Event": "library.new", "Item": "not an object"}, "Item"),
    ],
)
def test_malformed_payload_names_the_field(parse: object, document: dict[str, object], field: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse(document)  # type: ignore[operator]
    assert caught.value.field == field


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_body_that_is_not_a_json_object(body: bytes) -> None:
    with pytest.raises(PayloadError):
        jellyfin_document(body, "text/plain")
    with pytest.raises(PayloadError):
        emby_document(body, "application/json")


def test_emby_multipart_without_data_field() -> None:
    body = b"--b\r\nContent-Disposition: form-data; name=other\r\n\r\n{}\r\n--b--\r\n"
    with pytest.raises(PayloadError) as caught:
        emby_document(body, "multipart/form-data; boundary=b")
    assert caught.value.field == "data"


def test_planner_decisions() -> None:
    stop = _jellyfin("jellyfin-webhook-playbackstop.json")
    assert planner.decide(stop, MEDIA_KINDS).work == (
        planner.PlannedWork("sync-movie-watch-history", {"user_ids": [ALICE_JF], "item_ids": [MATRIX_JF]}),
    )
    added = _emby("emby-webhook-library-new.json")
    assert planner.decide(added, MEDIA_KINDS).work == (
        planner.PlannedWork("sync-movies", {"item_ids": ["51902"]}),
    )
    deleted = parse_emby({**fixture_json("emby-webhook-library-new.json"), "Event": "library.deleted"})
    assert planner.decide(deleted, MEDIA_KINDS).work == (
        planner.PlannedWork("sync-movies", {"item_ids": ["51902"]}),
    )

    base = fixture_json("jellyfin-webhook-playbackstop.json")
    unfinished = parse_jellyfin({**base, "PlayedToCompletion": False})
    started = parse_jellyfin({**base, "NotificationType": "PlaybackStart"})
    audio = parse_jellyfin({**base, "ItemType": "Audio"})
    episode = parse_jellyfin({**base, "ItemType": "Episode"})
    unknown = parse_jellyfin({**base, "NotificationType": "SomethingNew"})
    user_created = parse_jellyfin({"NotificationType": "UserCreated", "UserId": ALICE_JF})
    progress = parse_jellyfin(
        {**fixture_json("jellyfin-webhook-userdatasaved.json"), "SaveReason": "PlaybackProgress"}
    )
    assert planner.decide(unfinished, MEDIA_KINDS).ignored == planner.NOT_PLAYED_TO_COMPLETION
    assert planner.decide(started, MEDIA_KINDS).ignored == planner.EVENT_NOT_HANDLED
    assert planner.decide(audio, MEDIA_KINDS).ignored == planner.NOT_A_MOVIE
    [episode_work] = planner.decide(episode, MEDIA_KINDS).work  # the series kind's
    assert episode_work.job == "sync-series-watch-history"
    assert planner.decide(unknown, MEDIA_KINDS).ignored == planner.UNKNOWN_EVENT
    assert planner.decide(user_created, MEDIA_KINDS).work == (planner.PlannedWork("sync-users", None),)
    assert planner.decide(progress, MEDIA_KINDS).ignored == planner.EVENT_NOT_HANDLED
    for name in ("emby-webhook-item-markplayed.json", "emby-webhook-playback-stop.json"):
        assert planner.decide(_emby(name), MEDIA_KINDS).work[0].job == "sync-movie-watch-history"


@pytest.mark.parametrize(
    ("reason", "played", "acts"),
    [
        ("PlaybackStart", False, False),
        ("PlaybackProgress", False, False),
        ("PlaybackProgress", True, False),  # a progress report on an item played long ago
        ("PlaybackFinished", False, False),  # stopped part-way: SessionManager still saves
        ("PlaybackFinished", True, True),
        ("TogglePlayed", True, True),
        ("TogglePlayed", False, True),
        ("UpdateUserRating", False, True),
        ("UpdateUserData", False, True),
        ("Import", True, True),
        ("SomethingNew", True, False),
    ],
)
def test_user_data_saved_acts_only_on_reasons_that_change_picks(
    reason: str, played: bool, acts: bool
) -> None:
    """Jellyfin sends UserDataSaved on every progress report and every stop (SessionManager): only
    finished-and-played, toggles, ratings, user-data edits and imports plan work."""
    event = parse_jellyfin(
        {**fixture_json("jellyfin-webhook-userdatasaved.json"), "SaveReason": reason, "Played": played}
    )
    decision = planner.decide(event, MEDIA_KINDS)
    assert bool(decision.work) is acts
    if not acts:
        expected = (
            planner.NOT_PLAYED_TO_COMPLETION if reason == "PlaybackFinished" else planner.EVENT_NOT_HANDLED
        )
        assert decision.ignored == expected


def test_emby_scrobble_counts_as_played() -> None:
    stop = fixture_json("emby-webhook-playback-stop.json")
    scrobble = parse_emby({**stop, "Event": "playback.scrobble", "PlaybackInfo": {"PositionTicks": 0}})
    assert scrobble.event == ev.PLAYBACK_STOPPED and scrobble.played is True
    assert planner.decide(scrobble, MEDIA_KINDS).work[0].job == "sync-movie-watch-history"
    unfinished = parse_emby({**stop, "PlaybackInfo": {"PlayedToCompletion": False, "PositionTicks": 10}})
    assert planner.decide(unfinished, MEDIA_KINDS).ignored == planner.NOT_PLAYED_TO_COMPLETION
