"""Instruction prefixes: what goes before queries and passages for the model families whose
cards document one (nomic, E5, BGE, mxbai, arctic), and which is in effect and why."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prefix:
    """An instruction prefix and why it is the one in effect."""

    text: str
    why: str


@dataclass(frozen=True, slots=True)
class InstructionPrefixes:
    """What goes before queries and before passages sent to the model: part of its identity."""

    query: Prefix
    document: Prefix


@dataclass(frozen=True, slots=True)
class PrefixFamily:
    """Models whose cards document a retrieval instruction, recognised by name."""

    name: str
    pattern: re.Pattern[str]
    query: str
    document: str = ""


RETRIEVAL_INSTRUCTION = "Represent this sentence for searching relevant passages: "
# As each model card documents them; first match wins (arctic v2 before arctic).
PREFIX_FAMILIES: tuple[PrefixFamily, ...] = (
    PrefixFamily("nomic-embed-text", re.compile(r"nomic-embed-text"), "search_query: ", "search_document: "),
    PrefixFamily(
        "E5", re.compile(r"(?<![a-z0-9])e5-(?:small|base|large)(?!.*instruct)"), "query: ", "passage: "
    ),
    PrefixFamily("BGE", re.compile(r"bge-(?:small|base|large)-en"), RETRIEVAL_INSTRUCTION),
    PrefixFamily("mxbai-embed-large", re.compile(r"mxbai-embed-large"), RETRIEVAL_INSTRUCTION),
    PrefixFamily("snowflake-arctic-embed v2", re.compile(r"arctic-embed(?:2|-[a-z]+-v2)"), "query: "),
    PrefixFamily("snowflake-arctic-embed", re.compile(r"arctic-embed"), RETRIEVAL_INSTRUCTION),
)


def chosen(setting: str | None, default: str, default_why: str, name: str) -> Prefix:
    """The setting's prefix when it is set (even empty), else the family's default."""
    if setting is not None:
        return Prefix(setting, f"set by {name}")
    return Prefix(default, default_why)
