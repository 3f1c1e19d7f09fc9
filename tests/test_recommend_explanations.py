"""LLM explanations through a fake OpenAI chat-completions server, and the template fallback."""

from __future__ import annotations

import json
import time
from typing import Any

import asyncpg
from aiohttp import web
from pydantic import SecretStr

from sidecar.media.explanations import PickText, parse_explanations, template_explanation
from tests.factory import add_plays, add_user
from tests.recommend_helpers import two_cluster_library, user_list

JOB = "generate-movie-recommendations"


def _completion(content: str, model: str) -> dict[str, Any]:
    """The real chat.completion response shape."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 40, "total_tokens": 90},
    }


def fake_chat_server(mode: str, seen: list[dict[str, Any]]) -> web.Application:
    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("Authorization")})
        if mode == "error":
            return web.json_response(
                {"error": {"message": "upstream overloaded", "type": "server_error", "code": None}},
                status=500,
            )
        if mode == "nonsense":
            return web.json_response(_completion("Sorry, I can't help with that.", body["model"]))
        picks = json.loads(body["messages"][-1]["content"])["picks"]
        answer = {"explanations": [{"id": p["id"], "text": f"LLM says {p['movie']} fits."} for p in picks]}
        return web.json_response(_completion("```json\n" + json.dumps(answer) + "\n```", body["model"]))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    return app


async def _run_with_chat(
    db: asyncpg.Pool, run_job: Any, settings: Any, aiohttp_server: Any, mode: str
) -> tuple[asyncpg.Record, list[asyncpg.Record], list[dict[str, Any]]]:
    space, _ = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=12)
    await add_plays(db, "u1", space[:3])
    seen: list[dict[str, Any]] = []
    server = await aiohttp_server(fake_chat_server(mode, seen))
    chat_settings = settings.model_copy(
        update={
            "chat_model": "gpt-test",
            "openai_base_url": str(server.make_url("/v1")),
            "openai_api_key": SecretStr("sk-test-key"),
        }
    )
    row = await run_job(JOB, settings=chat_settings)
    return row, await user_list(db, "u1"), seen


async def test_llm_explains_picks_in_batches(
    db: asyncpg.Pool, run_job: Any, settings: Any, aiohttp_server: Any
) -> None:
    row, picks, seen = await _run_with_chat(db, run_job, settings, aiohttp_server, "ok")

    assert row["status"] == "completed", row["error"]
    assert len(picks) == 12
    for pick in picks:
        assert pick["explanation"] == f"LLM says Title {pick['movie_id']} (2000) fits."
    assert len(seen) == 2  # 12 picks, several per request
    assert seen[0]["auth"] == "Bearer sk-test-key"
    assert seen[0]["body"]["model"] == "gpt-test"
    assert "sk-test-key" not in json.dumps(
        [dict(r) for r in await db.fetch("SELECT * FROM job_run_logs")], default=str
    )


async def test_llm_server_error_falls_back_to_the_template(
    db: asyncpg.Pool, run_job: Any, settings: Any, aiohttp_server: Any
) -> None:
    row, picks, seen = await _run_with_chat(db, run_job, settings, aiohttp_server, "error")

    assert row["status"] == "completed", row["error"]
    assert seen  # it did try
    assert len(picks) == 12
    assert all(p["explanation"].startswith("Because you watched ") for p in picks)
    warnings = await db.fetch(
        "SELECT message FROM job_run_logs WHERE run_id = $1 AND level = 'warning'", row["id"]
    )
    assert any("LLM explanation requests failed" in w["message"] for w in warnings)


async def test_llm_nonsense_answer_falls_back_to_the_template(
    db: asyncpg.Pool, run_job: Any, settings: Any, aiohttp_server: Any
) -> None:
    row, picks, seen = await _run_with_chat(db, run_job, settings, aiohttp_server, "nonsense")

    assert row["status"] == "completed", row["error"]
    assert seen
    assert all(p["explanation"].startswith("Because you watched ") for p in picks)


async def test_unreachable_llm_falls_back_to_the_template(
    db: asyncpg.Pool, run_job: Any, settings: Any
) -> None:
    space, _ = await two_cluster_library(db)
    await add_user(db, "u1", max_recs=5)
    await add_plays(db, "u1", space[:3])
    # The test settings point openai_base_url at a closed port.
    row = await run_job(JOB, settings=settings.model_copy(update={"chat_model": "gpt-test"}))

    assert row["status"] == "completed", row["error"]
    assert all(p["explanation"].startswith("Because you watched ") for p in await user_list(db, "u1"))


def test_template_names_the_evidence_and_the_main_reason() -> None:
    pick = PickText(
        title="Aliens", year=1986, because=["Alien", "Blade Runner", "Solaris"], dominant="co_watch"
    )
    assert template_explanation(pick) == (
        "Because you watched Alien and Blade Runner: people who watched them also watched this one."
    )
    single = PickText(title="Aliens", year=None, because=["Alien"], dominant="content")
    assert (
        template_explanation(single)
        == "Because you watched Alien: this one is close to what you like in tone and genre."
    )
    lately = PickText(title="Aliens", year=None, because=["Alien"], dominant="recency")
    assert (
        template_explanation(lately)
        == "Because you watched Alien: this one is close in tone and genre to what you have watched lately."
    )


def test_parse_keeps_only_valid_numbered_sentences() -> None:
    content = json.dumps({"explanations": [{"id": 1, "text": " One. "}, {"id": 9, "text": "x"}, {"id": 2}]})
    assert parse_explanations(content, 3) == {0: "One."}
