"""One sentence per pick saying why: a template by default, an LLM sentence when a chat model is set.

The LLM gets several picks per request and may fail in any way (down, slow, rate-limited, nonsense
answer): every pick it does not explain keeps its template sentence. After a few failed requests in
a row the run stops asking, so an outage costs seconds, not one timeout per user.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from openai import AsyncOpenAI

from sidecar.media.kind import MediaKind
from sidecar.settings import Settings

log = structlog.get_logger(__name__)

BATCH_SIZE = 10
CONCURRENCY = 4
FAILURES_BEFORE_GIVING_UP = 3
REQUEST_TIMEOUT_SECONDS = 30.0

SYSTEM_PROMPT = (
    "You explain {one} recommendations. For each numbered pick write one friendly sentence "
    "(at most 30 words) saying why it suits a viewer who enjoyed the listed {many}. Do not invent "
    'facts about the plot. Answer only with JSON: {{"explanations": [{{"id": <number>, "text": "..."}}]}}'
)


@dataclass(frozen=True)
class PickText:
    """What an explanation is written from."""

    title: str
    year: int | None
    because: Sequence[str]  # titles of the watched movies that led to it, strongest first
    dominant: str  # the component that carried the pick (sidecar.recommender.data.COMPONENTS)


def _join_titles(titles: Sequence[str]) -> str:
    if len(titles) == 1:
        return titles[0]
    return ", ".join(titles[:-1]) + " and " + titles[-1]


# One sentence per carrying signal: co-watching names the people, content the tone and genre.
REASONS = {
    "co_watch": "people who watched {them} also watched this one",
    "content": "this one is close to what you like in tone and genre",
    "recency": "this one is close in tone and genre to what you have watched lately",
    "popularity": "this one is popular with viewers here and close to what you watch",
    "rating": "this one is highly rated and close to what you watch",
    "franchise": "this one belongs to the same collection",
}


def template_explanation(pick: PickText) -> str:
    """ "Because you watched A and B: people who watched them also watched this one."."""
    if not pick.because:
        return "Popular with viewers on this server."
    titles = list(pick.because[:2])
    them = "it" if len(titles) == 1 else "them"
    reason = REASONS.get(pick.dominant, REASONS["content"]).format(them=them)
    return f"Because you watched {_join_titles(titles)}: {reason}."


def _request_body(picks: Sequence[PickText], one: str) -> str:
    items = [
        {
            "id": i,
            one: p.title if p.year is None else f"{p.title} ({p.year})",
            "viewer_enjoyed": list(p.because),
        }
        for i, p in enumerate(picks, start=1)
    ]
    return json.dumps({"picks": items}, ensure_ascii=False)


def parse_explanations(content: str | None, count: int) -> dict[int, str]:
    """{pick position (0-based): sentence} from the model's JSON answer; code fences tolerated."""
    if not content:
        return {}
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", content.strip())
    data = json.loads(text)
    found: dict[int, str] = {}
    for entry in data.get("explanations", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict):
            continue
        number, sentence = entry.get("id"), entry.get("text")
        if (
            isinstance(number, int)
            and 1 <= number <= count
            and isinstance(sentence, str)
            and sentence.strip()
        ):
            found[number - 1] = " ".join(sentence.split())[:500]
    return found


class LlmExplainer:
    """Chat-completions client for one run; `explain` always returns a sentence per pick."""

    def __init__(self, client: AsyncOpenAI, model: str, kind: MediaKind) -> None:
        self._kind = kind
        self._prompt = SYSTEM_PROMPT.format(one=kind.singular, many=kind.name)
        self._client = client
        self._model = model
        self._failures_in_row = 0
        self._limit = asyncio.Semaphore(CONCURRENCY)
        self.requests_failed = 0

    @classmethod
    def from_settings(cls, settings: Settings, kind: MediaKind) -> LlmExplainer | None:
        if not settings.chat_model:
            return None
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        client = AsyncOpenAI(
            base_url=settings.openai_base_url, api_key=key, max_retries=1, timeout=REQUEST_TIMEOUT_SECONDS
        )
        return cls(client, settings.chat_model, kind)

    @property
    def gave_up(self) -> bool:
        return self._failures_in_row >= FAILURES_BEFORE_GIVING_UP

    async def close(self) -> None:
        await self._client.close()

    async def _ask(self, picks: Sequence[PickText]) -> dict[int, str]:
        async with self._limit:
            if self.gave_up:
                return {}
            try:
                response: Any = await self._client.chat.completions.create(
                    model=self._model,
                    messages=[
                        {"role": "system", "content": self._prompt},
                        {"role": "user", "content": _request_body(picks, self._kind.singular)},
                    ],
                    temperature=0.4,
                )
                found = parse_explanations(response.choices[0].message.content, len(picks))
                if not found:
                    raise ValueError("the answer held no usable explanations")
            except Exception as exc:  # any failure: the template sentences stand
                self._failures_in_row += 1
                self.requests_failed += 1
                log.warning(
                    "LLM explanation failed; using the template", error=f"{type(exc).__name__}: {exc}"
                )
                return {}
            self._failures_in_row = 0
            return found

    async def explain(self, picks: Sequence[PickText]) -> list[str]:
        sentences = [template_explanation(p) for p in picks]
        batches = [list(range(i, min(i + BATCH_SIZE, len(picks)))) for i in range(0, len(picks), BATCH_SIZE)]
        answers = await asyncio.gather(*(self._ask([picks[i] for i in batch]) for batch in batches))
        for batch, found in zip(batches, answers, strict=True):
            for offset, sentence in found.items():
                sentences[batch[offset]] = sentence
        return sentences
