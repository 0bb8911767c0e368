"""What a claimed batch sends to the provider: the chunks the claimed articles still need,
each text once (a text shared by several chunks or articles is sent once). Each embed text is
rebuilt from the stored chunk and checked against its hash, so a vector is always stored
under the hash of what was sent."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from article_mcp.passages.chunking import embed_text
from article_mcp.queue.tasks import ClaimedTask


@dataclass(slots=True)
class Plan:
    """What a batch sends to the provider, and what each task is charged."""

    texts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    tokens_by_task: dict[int, int] = field(default_factory=dict)
    chunks: int = 0
    # Tasks with a chunk whose rebuilt text does not match its hash (cut with other settings).
    mismatched: list[ClaimedTask] = field(default_factory=list)

    def charge(self, tokens: int) -> dict[int, int]:
        """The tokens the calls used, shared out among the tasks in proportion to the estimate
        of what each sent (largest remainders), so that the tasks add up to the batch."""
        weights = self.tokens_by_task
        total = sum(weights.values())
        if total == 0 or tokens == 0:
            return dict.fromkeys(weights, 0)
        shares = {task: tokens * weight / total for task, weight in weights.items()}
        charged = {task: int(share) for task, share in shares.items()}
        left = tokens - sum(charged.values())
        for task in sorted(shares, key=lambda t: charged[t] - shares[t])[:left]:
            charged[task] += 1
        return charged


def plan_batch(tasks: Sequence[ClaimedTask], *, max_tokens: int) -> Plan:
    """The distinct texts the tasks need embedded, with tokens charged to the first task needing each."""
    plan = Plan()
    seen: set[str] = set()
    for task in tasks:
        plan.tokens_by_task[task.id] = 0
        if not task.chunks:
            continue
        texts = [
            embed_text(task.title or "", c.heading_path, c.text, max_tokens=max_tokens) for c in task.chunks
        ]
        if any(_sha256(t) != c.text_hash for t, c in zip(texts, task.chunks, strict=True)):
            plan.mismatched.append(task)
            del plan.tokens_by_task[task.id]
            continue
        plan.chunks += len(task.chunks)
        for text, chunk in zip(texts, task.chunks, strict=True):
            if chunk.text_hash not in seen:
                seen.add(chunk.text_hash)
                plan.texts.append(text)
                plan.hashes.append(chunk.text_hash)
                plan.tokens_by_task[task.id] += chunk.token_count
    return plan


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
